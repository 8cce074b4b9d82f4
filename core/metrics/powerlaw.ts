/**
 * weightwatcher's own power-law fitter (pl_package='ww'; spec §3.3-§3.6): a continuous power law
 * on [xmin, ∞) fitted by maximum likelihood for every candidate xmin, the candidate with the
 * smallest Kolmogorov-Smirnov distance chosen.
 */
import { CompensatedSum } from "./summation.js";

/** Eigenvalues at or below this are left out of the fit (not out of the norms); spec §3.3. */
export const FIT_THRESHOLD = 1e-5;

export interface PowerLawFit {
  alpha: number;
  /** KS distance between the tail and the fitted power law. */
  D: number;
  /** Asymptotic standard error of alpha: (alpha - 1) / sqrt(tail size). */
  sigma: number;
  xmin: number;
  /** Largest fitted eigenvalue. */
  xmax: number;
  /** #{λ >= xmin} over the ESD (after integer-xmax clipping). */
  num_pl_spikes: number;
}

export type PowerLawOutcome =
  | ({ status: "success" } & PowerLawFit)
  | {
      status: "failed";
      reason: string;
      /**
       * weightwatcher-compatible mode only: the numbers weightwatcher reports although it marks
       * the fit failed (integer xmax larger than half the ESD; spec §3.6, §15.14).
       */
      reported?: PowerLawFit;
    };

export interface TailFit {
  alpha: number;
  D: number;
  /** Index of xmin in the data. */
  index: number;
  /** Tail size counted by position: data.length - index. */
  tailSize: number;
}

/**
 * The fit on `data` (ascending, every value > 0): candidates xmin = data[i], i = 0 … n−2; tail
 * counted by position; alpha_i = 1 + m / Σ ln(x_j / x_i); D_i = max_k |1 − (x_{i+k}/x_i)^(1−alpha_i) − k/m|
 * (lower step of the empirical CDF), D_i = 1 when alpha_i <= 1; the first smallest D wins.
 * Returns null when there is no candidate (fewer than 2 values).
 */
export function fitTail(data: Float64Array): TailFit | null {
  const n = data.length;
  if (n < 2) return null;
  const logs = new Float64Array(n);
  for (let i = 0; i < n; i++) logs[i] = Math.log(data[i]!);
  let best: TailFit | null = null;
  for (let i = 0; i < n - 1; i++) {
    const m = n - i;
    const logXmin = logs[i]!;
    // Σ (ln x_j − ln x_i) term by term: every term is >= 0, so no cancellation, and the
    // compensated sum keeps it exact to a few ulps whatever numpy's summation order was.
    const logSum = new CompensatedSum();
    for (let j = i; j < n; j++) logSum.add(logs[j]! - logXmin);
    const alpha = 1 + m / logSum.value;
    const bound: number = best === null ? Infinity : best.D;
    const D: number = alpha > 1 ? ksDistance(data, i, alpha, bound) : 1;
    // Strictly smaller: on exact ties the first (smallest) xmin wins, as numpy's argmin.
    if (best === null || D < best.D) best = { alpha, D, index: i, tailSize: m };
  }
  return best;
}

/**
 * KS distance of the tail data[start..] from the power law with exponent alpha. Stops early (and
 * returns a value >= bound) once the running maximum reaches `bound`: such a candidate cannot
 * become the first argmin, so its exact distance is never needed.
 */
function ksDistance(data: Float64Array, start: number, alpha: number, bound: number): number {
  const n = data.length;
  const m = n - start;
  const xmin = data[start]!;
  const exponent = 1 - alpha;
  let distance = 0;
  for (let k = 0; k < m; k++) {
    const ratio = data[start + k]! / xmin;
    // numpy gives 1 ** -inf = 1 (an all-equal tail has alpha = +inf); Math.pow gives NaN.
    const survival = ratio === 1 ? 1 : Math.pow(ratio, exponent);
    const gap = Math.abs(1 - survival - k / m);
    if (gap > distance) {
      distance = gap;
      if (distance >= bound) return distance;
    }
  }
  return distance;
}

export interface FitOptions {
  /** Integer k != 0: drop the |k| largest eigenvalues before fitting. null: no clipping. */
  xmax: number | null;
  /** weightwatcher 0.7.5.5's behaviour for an integer xmax beyond half the ESD (§15.14). */
  compat: boolean;
}

/** Fits the tail of an ESD (ascending, zeros included) as weightwatcher's default analysis does. */
export function fitPowerLaw(esd: Float64Array, options: FitOptions): PowerLawOutcome {
  const n = esd.length;
  const clip = options.xmax === null ? 0 : Math.abs(options.xmax);
  if (clip > n / 2) {
    const reason = `xmax=${options.xmax} would remove more than half of the ${n} eigenvalues`;
    if (!options.compat) return { status: "failed", reason };
    // weightwatcher marks the fit failed and then fits the unclipped ESD with |k| passed as an
    // upper limit, which its fitter snaps to the eigenvalue nearest the number |k|.
    const limit = nearestValue(esd, clip);
    let count = 0;
    while (count < n && esd[count]! <= limit) count++;
    const fit = fitAbove(esd.subarray(0, count), esd);
    return fit === null ? { status: "failed", reason } : { status: "failed", reason, reported: fit };
  }
  const clipped = esd.subarray(0, n - clip);
  const fit = fitAbove(clipped, clipped);
  if (fit === null) {
    return { status: "failed", reason: `fewer than 2 eigenvalues above ${FIT_THRESHOLD}` };
  }
  return { status: "success", ...fit };
}

/** Fit of the values of `data` above FIT_THRESHOLD; num_pl_spikes counted over `spikeSource`. */
function fitAbove(data: Float64Array, spikeSource: Float64Array): PowerLawFit | null {
  let first = 0;
  while (first < data.length && !(data[first]! > FIT_THRESHOLD)) first++;
  const fitted = data.subarray(first);
  const tail = fitTail(fitted);
  if (tail === null) return null;
  const xmin = fitted[tail.index]!;
  let spikes = 0;
  for (let i = 0; i < spikeSource.length; i++) if (spikeSource[i]! >= xmin) spikes++;
  return {
    alpha: tail.alpha,
    D: tail.D,
    sigma: (tail.alpha - 1) / Math.sqrt(tail.tailSize),
    xmin,
    xmax: fitted[fitted.length - 1]!,
    num_pl_spikes: spikes,
  };
}

function nearestValue(sorted: Float64Array, target: number): number {
  let best = sorted[0] ?? target;
  for (const value of sorted) if (Math.abs(value - target) < Math.abs(best - target)) best = value;
  return best;
}

/** weightwatcher's training warning from alpha (spec §3.5): strict thresholds 2 and 6. */
export function trainingWarning(alpha: number): "over-trained" | "under-trained" | "" {
  if (alpha < 2) return "over-trained";
  if (alpha > 6) return "under-trained";
  return "";
}
