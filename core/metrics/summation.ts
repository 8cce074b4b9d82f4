/**
 * Compensated (Neumaier) summation. The metrics must agree with weightwatcher, which sums with
 * numpy's pairwise summation, to ~1e-13 relative; a compensated sum is at least that accurate
 * whatever the order, so the two agree to the last bits that matter.
 */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;

  add(value: number): void {
    const total = this.sum + value;
    if (Math.abs(this.sum) >= Math.abs(value)) this.compensation += this.sum - total + value;
    else this.compensation += value - total + this.sum;
    this.sum = total;
  }

  get value(): number {
    // With an infinite term the compensation is NaN (∞ − ∞); the plain sum is then the answer.
    return Number.isFinite(this.sum) ? this.sum + this.compensation : this.sum;
  }
}

/** Compensated sum of `values[start..end)`, optionally of `f(value)`. */
export function compensatedSum(
  values: ArrayLike<number>,
  start = 0,
  end = values.length,
  f?: (value: number) => number,
): number {
  const sum = new CompensatedSum();
  for (let i = start; i < end; i++) sum.add(f === undefined ? values[i]! : f(values[i]!));
  return sum.value;
}
