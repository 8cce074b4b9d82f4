/**
 * The density estimate weightwatcher's MP fit compares with the Marchenko-Pastur law (spec §5):
 * scikit-learn's KernelDensity with the linear (triangular) kernel, evaluated on numpy's
 * linspace(0, max + 0.5, 1000).
 */

/** np.linspace(start, stop, num) with the endpoint: i·step + start, the last value set to stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  if (num === 0) return out;
  const div = num - 1;
  const step = (stop - start) / div;
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * Triangular-kernel density of `sortedData` (ascending) at each point of `at` (ascending):
 * (1/n)·Σ max(0, 1 − |x − z|/h)/h. Only the data within h of x contribute, found by a sliding
 * window over the sorted data.
 */
export function triangularDensity(sortedData: Float64Array, at: Float64Array, bandwidth: number): Float64Array {
  const n = sortedData.length;
  const out = new Float64Array(at.length);
  let lo = 0;
  for (let p = 0; p < at.length; p++) {
    const x = at[p]!;
    while (lo < n && sortedData[lo]! <= x - bandwidth) lo++;
    let sum = 0;
    for (let i = lo; i < n; i++) {
      const distance = Math.abs(x - sortedData[i]!);
      if (sortedData[i]! >= x + bandwidth) break;
      if (distance < bandwidth) sum += 1 - distance / bandwidth;
    }
    out[p] = sum / (n * bandwidth);
  }
  return out;
}
