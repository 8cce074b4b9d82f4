/**
 * fix_fingers='xmin_peak' (spec §6.2): search xmin near the peak of the ESD on a log scale instead
 * of over the whole spectrum, so that a few isolated large eigenvalues ("fingers") cannot pull
 * the fit to a tiny tail.
 *
 * The peak is the left edge of the fullest of 100 equal-width bins of log10 λ (numpy's histogram,
 * first fullest bin). weightwatcher 0.7.5.5 then passes the range (log10(0.95·peak), xmin_max) to
 * the fitter — a log10 lower bound next to a linear upper bound — which the `powerlaw` package
 * takes as given (its own fitter rejects any range and the fit fails). The corrected range is
 * [0.95·peak, xmin_max] in eigenvalue units for both fitters.
 */

/** Number of histogram bins weightwatcher uses to locate the peak. */
export const PEAK_BINS = 100;

/** Bin edges as np.linspace(first, last, bins + 1): i·step + first, the last edge exactly `last`. */
function linspaceEdges(first: number, last: number, bins: number): Float64Array {
  const edges = new Float64Array(bins + 1);
  const step = (last - first) / bins;
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/**
 * np.histogram(values, bins) counts for equal-width bins over [min, max] (a single value: the
 * range widened by 0.5 each side, as numpy does); bins are half-open except the last.
 */
export function histogram(values: Float64Array, bins: number): { counts: Int32Array; edges: Float64Array } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = linspaceEdges(lo, hi, bins);
  const counts = new Int32Array(bins);
  const width = hi - lo;
  for (const v of values) {
    let index = Math.trunc(((v - lo) / width) * bins);
    if (index === bins) index--;
    // The computed index can be one off within an ulp of an edge; the edges decide.
    if (v < edges[index]!) index--;
    else if (index !== bins - 1 && v >= edges[index + 1]!) index++;
    counts[index]!++;
  }
  return { counts, edges };
}

/** 10^(left edge of the first fullest bin of log10 λ); `values` are the fitted eigenvalues (> 0). */
export function esdPeak(values: Float64Array): number {
  const logs = values.map(Math.log10);
  const { counts, edges } = histogram(logs, PEAK_BINS);
  let fullest = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[fullest]!) fullest = i;
  return Math.pow(10, edges[fullest]!);
}

export interface XminRange {
  /** Bounds as the fitter receives them (weightwatcher: lo in log10 units; corrected: linear). */
  lo: number;
  hi: number;
  peak: number;
}

/**
 * The xmin search range for `values` (the ESD values above the fit threshold, ascending).
 * xmin_max null means 1.5·peak. `wwUnits`: weightwatcher 0.7.5.5's (log10(0.95·peak), xmin_max).
 */
export function xminPeakRange(values: Float64Array, xminMax: number | null, wwUnits: boolean): XminRange {
  const peak = esdPeak(values);
  const hi = xminMax ?? 1.5 * peak;
  const lo = wwUnits ? Math.log10(0.95 * peak) : 0.95 * peak;
  return { lo, hi, peak };
}
