/**
 * weightwatcher's second fitter (pl_package='powerlaw'): what the Python `powerlaw` package 1.5
 * computes for `Fit(x, xmin=None | (lo, hi), xmax=None | λ_max, xmin_distribution=d)`, written
 * natively (spec §7.2). For every candidate xmin the chosen family is fitted by maximum likelihood
 * on the tail {x >= xmin}, its KS distance is measured against the empirical CDF of the whole
 * data rescaled to the tail, and the valid candidate with the smallest distance wins.
 *
 * - power law: closed-form MLE α = 1 + m / Σ ln(x/u) (also with xmax, where the package's
 *   numerical refit starts at, and stays at, this optimum; spec §7.2);
 * - truncated power law p(x) = Λ^(1−α) / Γ(1−α, Λu) · x^(−α) e^(−Λx): the package's Nelder–Mead
 *   (SciPy fmin defaults) on the negative log-likelihood from (α₀, 1/mean), with its penalty of
 *   1e-307 per point outside α > 1, Λ > 0 or where the density underflows.
 * The arithmetic of the CDFs follows the package's order of operations so that rounding, and hence
 * every comparison the optimizer and the xmin search make, agrees with it.
 */
import { upperIncompleteGamma } from "./incomplete-gamma.js";
import { numpySum } from "./numpy-sum.js";
import { fmin } from "./optimize.js";

export type PackageFamily = "power_law" | "truncated_power_law";

export interface PackageFitOptions {
  family: PackageFamily;
  /** The package's xmax (λ_max for xmax='force'): data above it dropped, CDFs truncated there. */
  xmax: number | null;
  /** Candidate range for xmin, bounds in either order (the package's xmin=(lo, hi)); null: all values. */
  xminRange: readonly [number, number] | null;
  /** Keep every candidate's xmin, D and alpha. */
  diagnostics?: boolean;
}

/** What the xmin search saw: one entry per candidate, in ascending xmin. */
export interface CandidateDiagnostics {
  xmins: number[];
  Ds: number[];
  alphas: number[];
  /** Truncated power law only. */
  Lambdas?: number[];
}

export interface PackageFit {
  alpha: number;
  /** Truncated power law only. */
  Lambda?: number;
  D: number;
  /** (α − 1)/√m for the power law; NaN for the truncated power law (the package gives none). */
  sigma: number;
  xmin: number;
  /** Number of data points in the chosen tail (ties with xmin included). */
  tailSize: number;
  /** Whether the chosen candidate's fit is in the valid range (α > 1, and Λ > 0 for TPL). */
  valid: boolean;
  candidates?: CandidateDiagnostics;
}

/** The package's likelihood floor: 10**sys.float_info.min_10_exp. */
const LIKELIHOOD_FLOOR = 1e-307;
/** Exponents beyond which a factor of the density would leave the normal float range. */
const SAFE_EXPONENT = 690;

interface CandidateFit {
  alpha: number;
  Lambda: number;
  D: number;
  sigma: number;
  valid: boolean;
}

/**
 * Fits `data` (ascending, every value > 0: the ESD values above the fit threshold). Returns null
 * when there is no candidate xmin (the package then reports alpha = NaN).
 */
export function fitPowerLawPackage(data: Float64Array, options: PackageFitOptions): PackageFit | null {
  let count = data.length;
  if (options.xmax !== null) while (count > 0 && data[count - 1]! > options.xmax) count--;
  const x = data.subarray(0, count);
  const n = x.length;
  if (n === 0) return null;

  // Distinct values and the index of each one's first occurrence (np.unique, searchsorted 'left').
  const firstIndex: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || x[i] !== x[i - 1]) firstIndex.push(i);

  let candidates: number[];
  if (options.xminRange === null) {
    candidates = firstIndex.slice(0, -1);
  } else {
    const lo = Math.min(options.xminRange[0], options.xminRange[1]);
    const hi = Math.max(options.xminRange[0], options.xminRange[1]);
    candidates = firstIndex.filter((i) => lo <= x[i]! && x[i]! <= hi).slice(0, -1);
  }
  if (candidates.length === 0) return null;

  const tables = options.family === "truncated_power_law" ? new TailSums(x) : null;
  const diagnostics: CandidateDiagnostics | undefined = options.diagnostics
    ? { xmins: [], Ds: [], alphas: [], ...(tables === null ? {} : { Lambdas: [] }) }
    : undefined;

  let best: { index: number; fit: CandidateFit } | null = null;
  let bestValid: { index: number; fit: CandidateFit } | null = null;
  for (const start of candidates) {
    const fit = tables === null
      ? fitPowerLawAt(x, start, firstIndex, options.xmax)
      : fitTruncatedAt(x, start, firstIndex, options.xmax, tables);
    if (diagnostics !== undefined) {
      diagnostics.xmins.push(x[start]!);
      diagnostics.Ds.push(fit.D);
      diagnostics.alphas.push(fit.alpha);
      diagnostics.Lambdas?.push(fit.Lambda);
    }
    // np.argmin: strictly smaller wins, so the first of equal distances is kept.
    if (best === null || fit.D < best.fit.D) best = { index: start, fit };
    if (fit.valid && (bestValid === null || fit.D < bestValid.fit.D)) bestValid = { index: start, fit };
  }
  const chosen = bestValid ?? best!;
  const result: PackageFit = {
    alpha: chosen.fit.alpha,
    D: chosen.fit.D,
    sigma: chosen.fit.sigma,
    xmin: x[chosen.index]!,
    tailSize: n - chosen.index,
    valid: chosen.fit.valid,
  };
  if (tables !== null) result.Lambda = chosen.fit.Lambda;
  if (diagnostics !== undefined) result.candidates = diagnostics;
  return result;
}

/** α₀ = 1 + m / Σ ln(x/u) over the tail, summed as numpy does. */
function closedFormAlpha(x: Float64Array, start: number): number {
  const u = x[start]!;
  const m = x.length - start;
  const logs = new Float64Array(m);
  for (let j = 0; j < m; j++) logs[j] = Math.log(x[start + j]! / u);
  return 1 + m / numpySum(logs);
}

/**
 * The package's KS distance of a tail: at each distinct tail value v, the model CDF against the
 * empirical CDF of all n values rescaled to the tail, (E(v) − E(u)) / (1 − E(u)) with E(v) = #{x < v}/n;
 * D = max(max(F − E), −min(F − E)).
 */
function ksDistance(n: number, start: number, firstIndex: readonly number[], values: Float64Array, cdf: (v: number) => number): number {
  const dropped = start / n;
  let plus = -Infinity;
  let minus = Infinity;
  let k = lowerBound(firstIndex, start);
  for (; k < firstIndex.length; k++) {
    const i = firstIndex[k]!;
    const empirical = (i / n - dropped) / (1 - dropped);
    const diff = cdf(values[i]!) - empirical;
    if (diff > plus) plus = diff;
    if (diff < minus) minus = diff;
  }
  return Math.max(plus, -minus);
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function fitPowerLawAt(x: Float64Array, start: number, firstIndex: readonly number[], xmax: number | null): CandidateFit {
  const u = x[start]!;
  const m = x.length - start;
  const alpha = closedFormAlpha(x, start);
  const valid = alpha > 1;
  let D: number;
  if (!valid) {
    D = ksDistance(x.length, start, firstIndex, x, () => LIKELIHOOD_FLOOR);
  } else {
    // _cdf_base_function(x) = 1 − (x/u)^(1−α); its value at u is exactly 0.
    const base = (v: number): number => 1 - Math.pow(v / u, 1 - alpha);
    const atXmin = base(u);
    let norm = 1 - atXmin;
    if (xmax !== null) norm = norm - (1 - base(xmax));
    D = ksDistance(x.length, start, firstIndex, x, (v) => (base(v) - atXmin) / norm);
  }
  return { alpha, Lambda: NaN, D, sigma: (alpha - 1) / Math.sqrt(m), valid };
}

/** Compensated suffix sums of x and ln x: the likelihood of any tail in O(1) (see nll below). */
class TailSums {
  readonly sumX: Float64Array;
  readonly sumLog: Float64Array;
  constructor(x: Float64Array) {
    const n = x.length;
    this.sumX = new Float64Array(n + 1);
    this.sumLog = new Float64Array(n + 1);
    let sx = 0, cx = 0, sl = 0, cl = 0;
    for (let i = n - 1; i >= 0; i--) {
      [sx, cx] = twoSumAdd(sx, cx, x[i]!);
      [sl, cl] = twoSumAdd(sl, cl, Math.log(x[i]!));
      this.sumX[i] = sx + cx;
      this.sumLog[i] = sl + cl;
    }
  }
}

/** Neumaier's compensated addition: (sum, compensation) + value. */
function twoSumAdd(sum: number, compensation: number, value: number): [number, number] {
  const t = sum + value;
  const c = Math.abs(sum) >= Math.abs(value) ? (sum - t) + value : (value - t) + sum;
  return [t, compensation + c];
}

function fitTruncatedAt(
  x: Float64Array, start: number, firstIndex: readonly number[], xmax: number | null, sums: TailSums,
): CandidateFit {
  const n = x.length;
  const u = x[start]!;
  const m = n - start;
  const tail = x.subarray(start);
  const alpha0 = closedFormAlpha(x, start);
  const lambda0 = 1 / (numpySum(tail) / m);
  const penalty = -numpySum(new Float64Array(m).fill(Math.log(LIKELIHOOD_FLOOR)));
  const xLast = x[n - 1]!;
  const sumLog = sums.sumLog[start]!;
  const sumX = sums.sumX[start]!;

  const nll = (params: Float64Array): number => {
    const alpha = params[0]!;
    const Lambda = params[1]!;
    if (!(Lambda > 0 && alpha > 1)) return penalty;
    const gammaAtXmin = upperIncompleteGamma(1 - alpha, Lambda * u);
    const scale = Math.pow(Lambda, 1 - alpha);
    const C = scale / gammaAtXmin;
    const logC = Math.log(C);
    // ln p(x) = −α ln x − Λx + ln C is largest at u and smallest at the last point; when every
    // factor the package multiplies stays a normal float there, the per-point logarithms equal
    // this closed form to rounding and their sum is −α Σ ln x − Λ Σ x + m ln C.
    const safe =
      Number.isFinite(logC) && Math.abs(logC) < SAFE_EXPONENT &&
      Lambda * xLast < SAFE_EXPONENT &&
      Math.abs(alpha * Math.log(u)) < SAFE_EXPONENT && Math.abs(alpha * Math.log(xLast)) < SAFE_EXPONENT &&
      -alpha * Math.log(xLast) - Lambda * xLast + logC > -SAFE_EXPONENT &&
      -alpha * Math.log(u) - Lambda * u + logC < SAFE_EXPONENT;
    if (safe) return alpha * sumLog + Lambda * sumX - m * logC;
    // Outside that range, point by point as the package: f·C, zeros replaced by the floor.
    const logs = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      const v = tail[j]!;
      let likelihood = Math.pow(v, -alpha) * Math.exp(-Lambda * v) * C;
      if (likelihood === 0) likelihood = LIKELIHOOD_FLOOR;
      logs[j] = Math.log(likelihood);
    }
    return -numpySum(logs);
  };

  const result = fmin(nll, [alpha0, lambda0]);
  const alpha = result.x[0]!;
  const Lambda = result.x[1]!;
  const valid = Lambda > 0 && alpha > 1;
  let D: number;
  if (!valid) {
    D = ksDistance(n, start, firstIndex, x, () => LIKELIHOOD_FLOOR);
  } else {
    const s = 1 - alpha;
    const scale = Math.pow(Lambda, s);
    // _cdf_base_function(x) = 1 − Γ(1−α, Λx) / Λ^(1−α), differences taken as the package does.
    const base = (v: number): number => 1 - upperIncompleteGamma(s, Lambda * v) / scale;
    const atXmin = base(u);
    if (atXmin === 1) {
      // The package's "no numerical accuracy left in this tail" case: the model CDF is all ones.
      D = ksDistance(n, start, firstIndex, x, () => 1);
    } else {
      let norm = 1 - atXmin;
      if (xmax !== null) norm = norm - (1 - base(xmax));
      D = ksDistance(n, start, firstIndex, x, (v) => (base(v) - atXmin) / norm);
    }
  }
  return { alpha, Lambda, D, sigma: NaN, valid };
}
