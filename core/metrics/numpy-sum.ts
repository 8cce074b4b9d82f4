/**
 * np.sum of a contiguous float64 array: numpy's pairwise summation (blocks of 128 summed with
 * eight accumulators, halves split on multiples of 8). Where weightwatcher's result feeds a
 * comparison (the MP fit's objective, its rescaling), summing in numpy's order keeps the
 * comparisons identical to rounding.
 */

const BLOCK = 128;

export function numpySum(values: ArrayLike<number>, start = 0, end = values.length): number {
  const n = end - start;
  if (n < 8) {
    let sum = 0;
    for (let i = start; i < end; i++) sum += values[i]!;
    return sum;
  }
  if (n <= BLOCK) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => values[start + k]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let k = 0; k < 8; k++) r[k] = r[k]! + values[start + i + k]!;
    }
    let sum = (r[0]! + r[1]! + (r[2]! + r[3]!)) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) sum += values[start + i]!;
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values, start, start + half) + numpySum(values, start + half, end);
}
