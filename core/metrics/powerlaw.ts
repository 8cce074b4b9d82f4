/**
 * weightwatcher's own power-law fitter (pl_package='ww'; spec §3.3-§3.6): a continuous power law
 * on [xmin, ∞) fitted by maximum likelihood for every candidate xmin, the candidate with the
 * smallest Kolmogorov-Smirnov distance chosen.
 */
import { CompensatedSum } from "./summation.js";
import { fitPowerLawPackage } from "./powerlaw-package.js";
import { xminPeakRange } from "./xmin-peak.js";
import type { FitDiagnostics } from "../report.js";

/** Eigenvalues at or below this are left out of the fit (not out of the norms); spec §3.3. */
export const FIT_THRESHOLD = 1e-5;

export interface PowerLawFit {
  alpha: number;
  /** KS distance between the tail and the fitted power law. */
  D: number;
  /** Asymptotic standard error of alpha: (alpha - 1) / sqrt(tail size). */
  sigma: number;
  xmin: number;
  /** Largest fitted eigenvalue (null: the powerlaw package's convention without xmax='force', compat only). */
  xmax: number | null;
  /** #{λ >= xmin} over the ESD (after integer-xmax clipping). */
  num_pl_spikes: number;
  /** Truncated power law only: the cut-off Λ. */
  Lambda?: number;
  /** Number of eigenvalues given to the fitter (the ESD values above FIT_THRESHOLD, after clipping). */
  fitted_evals?: number;
  /** Every candidate xmin with its KS distance, when asked for. */
  diagnostics?: FitDiagnostics;
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
export function fitTail(data: Float64Array, window: TailWindow = {}): TailFit | null {
  const n = data.length;
  if (n < 2) return null;
  const logs = new Float64Array(n);
  for (let i = 0; i < n; i++) logs[i] = Math.log(data[i]!);
  let best: TailFit | null = null;
  const diagnostics = window.diagnostics;
  const first = window.first ?? 0;
  const end = Math.min(window.end ?? n - 1, n - 1);
  for (let i = first; i < end; i++) {
    const m = n - i;
    const logXmin = logs[i]!;
    // Σ (ln x_j − ln x_i) term by term: every term is >= 0, so no cancellation, and the
    // compensated sum keeps it exact to a few ulps whatever numpy's summation order was.
    const logSum = new CompensatedSum();
    for (let j = i; j < n; j++) logSum.add(logs[j]! - logXmin);
    const alpha = 1 + m / logSum.value;
    // With diagnostics every candidate's exact distance is wanted, so no early stop.
    const bound: number = best === null || diagnostics !== undefined ? Infinity : best.D;
    const D: number = alpha > 1 ? ksDistance(data, i, alpha, bound) : 1;
    if (diagnostics !== undefined) {
      diagnostics.xmins.push(data[i]!);
      diagnostics.Ds.push(D);
      diagnostics.alphas.push(alpha);
    }
    // Strictly smaller: on exact ties the first (smallest) xmin wins, as numpy's argmin.
    if (best === null || D < best.D) best = { alpha, D, index: i, tailSize: m };
  }
  return best;
}

/** Which candidates fitTail tries: positions first … end−1 (default all but the last), and what it records. */
export interface TailWindow {
  first?: number;
  end?: number;
  diagnostics?: { xmins: number[]; Ds: number[]; alphas: number[] };
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
  /**
   * Integer k != 0: drop the |k| largest eigenvalues before fitting. null: no clipping. "force":
   * the powerlaw package's xmax = λ_max (truncated CDF in the KS distance; spec §10).
   */
  xmax: number | "force" | null;
  /** weightwatcher 0.7.5.5's behaviour (integer xmax beyond half the ESD §15.14, xmin_peak §6.2, reported xmax §15.47). */
  compat: boolean;
  /** Family: power law (default), truncated power law, or TPL searched near the ESD peak (spec §7.1). */
  fit?: "PL" | "TPL" | "E_TPL";
  /** Fitter conventions: weightwatcher's own (default) or the powerlaw package 1.5's (spec §7.2). */
  pl_package?: "ww" | "powerlaw";
  /** fix_fingers 'xmin_peak': search xmin near the peak of the ESD (spec §6.2). */
  xmin_peak?: boolean;
  /** Upper bound of the xmin_peak search; null: 1.5·peak. */
  xmin_max?: number | null;
  /** Keep every candidate's KS distance (PowerLawFit.diagnostics). */
  diagnostics?: boolean;
}

/** Fits the tail of an ESD (ascending, zeros included) as weightwatcher's default analysis does. */
export function fitPowerLaw(esd: Float64Array, options: FitOptions): PowerLawOutcome {
  const n = esd.length;
  const clip = typeof options.xmax === "number" ? Math.abs(options.xmax) : 0;
  if (clip > n / 2) {
    const reason = `xmax=${options.xmax} would remove more than half of the ${n} eigenvalues`;
    if (!options.compat) return { status: "failed", reason };
    // weightwatcher marks the fit failed and then fits the unclipped ESD with |k| passed as an
    // upper limit, which its fitter snaps to the eigenvalue nearest the number |k|.
    const limit = nearestValue(esd, clip);
    let count = 0;
    while (count < n && esd[count]! <= limit) count++;
    const fit = fitAbove(esd.subarray(0, count), esd, options);
    return typeof fit === "string" ? { status: "failed", reason } : { status: "failed", reason, reported: fit };
  }
  const clipped = esd.subarray(0, n - clip);
  const fit = fitAbove(clipped, clipped, options);
  if (typeof fit === "string") return { status: "failed", reason: fit };
  return { status: "success", ...fit };
}

/**
 * Fit of the values of `data` above FIT_THRESHOLD with the fitter and family the options name;
 * num_pl_spikes counted over `spikeSource`. A string is the reason the fit failed.
 */
function fitAbove(data: Float64Array, spikeSource: Float64Array, options: FitOptions): PowerLawFit | string {
  let first = 0;
  while (first < data.length && !(data[first]! > FIT_THRESHOLD)) first++;
  const fitted = data.subarray(first);
  const tpl = options.fit === "TPL" || options.fit === "E_TPL";
  const peak = options.xmin_peak === true || options.fit === "E_TPL";
  // The TPL family and xmax='force' exist only in the package's conventions (spec §7.1, §10).
  const usePackage = options.pl_package === "powerlaw" || tpl || options.xmax === "force";
  const spikesFrom = (xmin: number): number => {
    let spikes = 0;
    for (let i = 0; i < spikeSource.length; i++) if (spikeSource[i]! >= xmin) spikes++;
    return spikes;
  };

  if (!usePackage) {
    const window: TailWindow = {};
    if (peak) {
      // weightwatcher's own fitter takes no xmin range: 0.7.5.5 reports the fit failed (§6.2).
      if (options.compat) return "fix_fingers xmin_peak needs pl_package powerlaw (weightwatcher's own fitter takes no xmin range)";
      const range = xminPeakRange(fitted, options.xmin_max ?? null, false);
      window.first = countBelow(fitted, range.lo);
      window.end = countAtMost(fitted, range.hi);
      if (Math.min(window.end, fitted.length - 1) <= window.first) {
        return `no eigenvalue with at least one above it in the xmin_peak range [${range.lo}, ${range.hi}]`;
      }
    }
    if (options.diagnostics) window.diagnostics = { xmins: [], Ds: [], alphas: [] };
    const tail = fitTail(fitted, window);
    if (tail === null) return `fewer than 2 eigenvalues above ${FIT_THRESHOLD}`;
    const xmin = fitted[tail.index]!;
    const fit: PowerLawFit = {
      alpha: tail.alpha,
      D: tail.D,
      sigma: (tail.alpha - 1) / Math.sqrt(tail.tailSize),
      xmin,
      xmax: fitted[fitted.length - 1]!,
      num_pl_spikes: spikesFrom(xmin),
      fitted_evals: fitted.length,
    };
    if (window.diagnostics !== undefined) fit.diagnostics = { fitter: "ww", family: "PL", ...window.diagnostics, xmin };
    return fit;
  }

  if (fitted.length === 0) return `no eigenvalue above ${FIT_THRESHOLD}`;
  const largest = fitted[fitted.length - 1]!;
  const range = peak ? xminPeakRange(fitted, options.xmin_max ?? null, options.compat) : null;
  const fit = fitPowerLawPackage(fitted, {
    family: tpl ? "truncated_power_law" : "power_law",
    xmax: options.xmax === "force" ? largest : null,
    xminRange: range === null ? null : [range.lo, range.hi],
    diagnostics: options.diagnostics ?? false,
  });
  if (fit === null) {
    return range === null
      ? `fewer than 2 distinct eigenvalues above ${FIT_THRESHOLD}`
      : `fewer than 2 distinct eigenvalues in the xmin_peak range [${Math.min(range.lo, range.hi)}, ${Math.max(range.lo, range.hi)}]`;
  }
  if (Number.isNaN(fit.alpha)) return "the fitter returned no alpha";
  const result: PowerLawFit = {
    alpha: fit.alpha,
    D: fit.D,
    sigma: fit.sigma,
    xmin: fit.xmin,
    // The package reports its xmax argument (None unless 'force'); the corrected column is the
    // largest fitted value, as for weightwatcher's own fitter (§15.47).
    xmax: options.compat ? (options.xmax === "force" ? largest : null) : largest,
    num_pl_spikes: spikesFrom(fit.xmin),
    fitted_evals: fitted.length,
  };
  if (fit.Lambda !== undefined) result.Lambda = fit.Lambda;
  if (fit.candidates !== undefined) {
    result.diagnostics = { fitter: "powerlaw", family: tpl ? "TPL" : "PL", ...fit.candidates, xmin: fit.xmin };
  }
  return result;
}

/** Number of values of `sorted` (ascending) below `value`: the first index with sorted[i] >= value. */
function countBelow(sorted: Float64Array, value: number): number {
  let count = 0;
  while (count < sorted.length && sorted[count]! < value) count++;
  return count;
}

/** Number of values of `sorted` (ascending) at most `value`. */
function countAtMost(sorted: Float64Array, value: number): number {
  let count = 0;
  while (count < sorted.length && sorted[count]! <= value) count++;
  return count;
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
