/**
 * Spearman's rho and Kendall's tau-b with two-sided p-values against "no association".
 *
 * Small samples (n <= EXACT_MAX_N): the exact permutation test. Every ordering of y against x is
 * equally likely under the null hypothesis; the p-value is the fraction of the n! orderings whose
 * statistic is at least as extreme as the observed one. With ties, the mid-ranks are permuted, so the
 * test is exact conditionally on the tie pattern.
 *
 * Larger samples: Spearman by Student's t with n − 2 degrees of freedom on
 * t = rho·sqrt((n − 2)/(1 − rho²)); Kendall by the normal approximation of S = concordant − discordant
 * with the tie-corrected variance (Kendall's formula with the t(t−1)(2t+5) terms).
 */
import { normalTwoSided, studentTTwoSided } from "./distributions.js";

/** Up to this many points the p-values are exact: 9! = 362,880 orderings enumerate in well under a second. */
export const EXACT_MAX_N = 9;

export type PValueMethod = "exact" | "asymptotic";

export interface RankCorrelation {
  n: number;
  /** null when a variable is constant (no ranking to correlate). */
  spearman: number | null;
  spearman_p: number | null;
  kendall: number | null;
  kendall_p: number | null;
  p_method: PValueMethod;
}

/** Mid-ranks (1-based, ties share the mean of their positions). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]!] === values[order[start]!]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]!] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Centered mid-ranks: r − mean(r). */
function centeredRanks(values: readonly number[]): number[] {
  const ranks = averageRanks(values);
  const mean = (values.length + 1) / 2;
  return ranks.map((r) => r - mean);
}

function sumOfSquares(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v * v, 0);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** S = Σ_{i<j} sign(x_i − x_j)·sign(y_i − y_j), concordant minus discordant pairs. */
function kendallS(x: readonly number[], y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) s += Math.sign(x[i]! - x[j]!) * Math.sign(y[i]! - y[j]!);
  }
  return s;
}

/** Pairs tied in a variable: Σ t(t−1)/2 over tie groups. */
function tiedPairs(values: readonly number[]): number {
  return tieGroupSizes(values).reduce((sum, t) => sum + (t * (t - 1)) / 2, 0);
}

function tieGroupSizes(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.values()].filter((t) => t > 1);
}

/**
 * Null distributions of |Σ rx·ry| and |S| over all orderings, shared by every call with the same
 * n and tie pattern (the statistics depend on the data only through the mid-ranks). Sorted ascending.
 */
interface NullDistribution {
  spearman: Float64Array;
  kendall: Float64Array;
}

const nullCache = new Map<string, NullDistribution>();

function nullDistribution(rx: readonly number[], ry: readonly number[]): NullDistribution {
  const key = `${[...rx].sort((a, b) => a - b).join(",")}|${[...ry].sort((a, b) => a - b).join(",")}`;
  const cached = nullCache.get(key);
  if (cached !== undefined) return cached;
  // Permuting y against fixed x; x is kept in sorted order so that the order of data points is irrelevant.
  const xs = [...rx].sort((a, b) => a - b);
  const ys = [...ry].sort((a, b) => a - b);
  const n = xs.length;
  let total = 1;
  for (let k = 2; k <= n; k++) total *= k;
  const spearman = new Float64Array(total);
  const kendall = new Float64Array(total);
  let filled = 0;
  const record = () => {
    spearman[filled] = Math.abs(dot(xs, ys));
    kendall[filled] = Math.abs(kendallS(xs, ys));
    filled++;
  };
  // Heap's algorithm (iterative): visits every permutation of ys exactly once.
  const counters = new Array<number>(n).fill(0);
  record();
  let i = 1;
  while (i < n) {
    if (counters[i]! < i) {
      const j = i % 2 === 0 ? 0 : counters[i]!;
      const swap = ys[j]!;
      ys[j] = ys[i]!;
      ys[i] = swap;
      record();
      counters[i]!++;
      i = 1;
    } else {
      counters[i] = 0;
      i++;
    }
  }
  const distribution = { spearman: spearman.sort(), kendall: kendall.sort() };
  nullCache.set(key, distribution);
  return distribution;
}

/** Fraction of the (sorted) null values >= observed, with a relative tolerance for rounding. */
function upperTailFraction(sorted: Float64Array, observed: number): number {
  const threshold = observed - 1e-9 * Math.max(1, Math.abs(observed));
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < threshold) lo = mid + 1;
    else hi = mid;
  }
  return (sorted.length - lo) / sorted.length;
}

/** Spearman and Kendall tau-b of paired samples, with two-sided p-values. */
export function rankCorrelation(x: readonly number[], y: readonly number[]): RankCorrelation {
  if (x.length !== y.length) throw new RangeError(`rankCorrelation: ${x.length} x values but ${y.length} y values`);
  const n = x.length;
  const method: PValueMethod = n <= EXACT_MAX_N ? "exact" : "asymptotic";
  const empty: RankCorrelation = { n, spearman: null, spearman_p: null, kendall: null, kendall_p: null, p_method: method };
  if (n < 2) return empty;
  const rx = centeredRanks(x);
  const ry = centeredRanks(y);
  const sxx = sumOfSquares(rx);
  const syy = sumOfSquares(ry);
  if (sxx === 0 || syy === 0) return empty;
  const sxy = dot(rx, ry);
  const spearman = clampUnit(sxy / Math.sqrt(sxx * syy));

  const pairs = (n * (n - 1)) / 2;
  const s = kendallS(x, y);
  const kendall = clampUnit(s / Math.sqrt((pairs - tiedPairs(x)) * (pairs - tiedPairs(y))));

  let spearmanP: number;
  let kendallP: number;
  if (method === "exact") {
    const distribution = nullDistribution(rx, ry);
    spearmanP = upperTailFraction(distribution.spearman, Math.abs(sxy));
    kendallP = upperTailFraction(distribution.kendall, Math.abs(s));
  } else {
    spearmanP = Math.abs(spearman) === 1 ? 0 : studentTTwoSided(spearman * Math.sqrt((n - 2) / (1 - spearman * spearman)), n - 2);
    kendallP = normalTwoSided(s / Math.sqrt(kendallVarianceOfS(x, y)));
  }
  return { n, spearman, spearman_p: spearmanP, kendall, kendall_p: kendallP, p_method: method };
}

/** Var(S) under the null hypothesis with ties in both variables (Kendall, Rank Correlation Methods, ch. 4). */
export function kendallVarianceOfS(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const tx = tieGroupSizes(x);
  const ty = tieGroupSizes(y);
  const sum = (ts: number[], f: (t: number) => number) => ts.reduce((acc, t) => acc + f(t), 0);
  const v0 = n * (n - 1) * (2 * n + 5);
  const vx = sum(tx, (t) => t * (t - 1) * (2 * t + 5));
  const vy = sum(ty, (t) => t * (t - 1) * (2 * t + 5));
  const v1 = (sum(tx, (t) => t * (t - 1)) * sum(ty, (t) => t * (t - 1))) / (2 * n * (n - 1));
  const v2 = n > 2 ? (sum(tx, (t) => t * (t - 1) * (t - 2)) * sum(ty, (t) => t * (t - 1) * (t - 2))) / (9 * n * (n - 1) * (n - 2)) : 0;
  return (v0 - vx - vy) / 18 + v1 + v2;
}

/** Rounding can push a correlation a hair past ±1. */
function clampUnit(value: number): number {
  return Math.max(-1, Math.min(1, value));
}
