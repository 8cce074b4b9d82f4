/** Histograms on a log10 scale of eigenvalues, the shape every ESD plot draws. */

export interface LogBins {
  /** Bin edges (length bins + 1), log-spaced. */
  edges: number[];
  counts: number[];
}

/** Positive finite values only: an eigenvalue of 0 (rank loss) has no place on a log axis. */
export function positiveValues(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v) && v > 0);
}

/** `bins` log-spaced bins spanning [min, max] of the values (at least a factor 10 wide when all are equal). */
export function logHistogram(values: readonly number[], bins: number, lo?: number, hi?: number): LogBins {
  const positive = positiveValues(values);
  let min = lo ?? Math.min(...positive);
  let max = hi ?? Math.max(...positive);
  if (!(max > min)) {
    min /= Math.SQRT2 * 2;
    max *= Math.SQRT2 * 2;
  }
  const logMin = Math.log10(min);
  const step = (Math.log10(max) - logMin) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (logMin + i * step));
  const counts = new Array<number>(bins).fill(0);
  for (const v of positive) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(v) - logMin) / step)));
    counts[i]! += 1;
  }
  return { edges, counts };
}
