/**
 * The series statistics against values derived by hand or by independent formulas: exact
 * permutation p-values checked by a naive enumeration written here, t and normal tails by closed forms.
 */
import { describe, expect, it } from "vitest";
import {
  EXACT_MAX_N,
  NOISE_SE_MULTIPLE,
  assessNoise,
  averageRanks,
  kendallVarianceOfS,
  leastSquaresLine,
  metricAssociation,
  normalTwoSided,
  rankCorrelation,
  studentTTwoSided,
} from "../core/series/index.js";

/** Every permutation of 0..n-1, recursively (independent of the implementation's Heap's algorithm). */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

/** Spearman without ties by the textbook formula 1 − 6Σd²/(n(n²−1)); x and y are ranks 1..n. */
function spearmanNoTies(x: number[], y: number[]): number {
  const n = x.length;
  const d2 = x.reduce((sum, xi, i) => sum + (xi - y[i]!) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/** Kendall tau without ties as 1 − 4·inversions/(n(n−1)). */
function kendallNoTies(x: number[], y: number[]): number {
  const n = x.length;
  let discordant = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if ((x[i]! - x[j]!) * (y[i]! - y[j]!) < 0) discordant++;
  return 1 - (4 * discordant) / (n * (n - 1));
}

function naiveExactP(x: number[], y: number[], statistic: (a: number[], b: number[]) => number): number {
  const observed = Math.abs(statistic(x, y));
  const perms = permutations(y.length);
  const extreme = perms.filter((p) => Math.abs(statistic(x, p.map((k) => y[k]!))) >= observed - 1e-12).length;
  return extreme / perms.length;
}

describe("ranks and rank correlations", () => {
  it("mid-ranks share ties", () => {
    expect(averageRanks([10, 20, 20, 5, 20])).toEqual([2, 4, 4, 1, 4]);
  });

  it("n = 5, one adjacent swap: rho 0.9, tau 0.8, exact p = 10/120 for both (hand count)", () => {
    // Σd² ≤ 2 happens for the identity and the 4 adjacent swaps (5 orderings); the mirror images give rho ≤ −0.9.
    // Inversions ≤ 1: again 1 + 4 orderings (Mahonian numbers 1, 4, 9, ... for n = 5), and 5 mirrored.
    const r = rankCorrelation([1, 2, 3, 4, 5], [1, 2, 3, 5, 4]);
    expect(r.p_method).toBe("exact");
    expect(r.spearman).toBeCloseTo(0.9, 14);
    expect(r.kendall).toBeCloseTo(0.8, 14);
    expect(r.spearman_p).toBeCloseTo(10 / 120, 14);
    expect(r.kendall_p).toBeCloseTo(10 / 120, 14);
  });

  it("n = 5, perfectly reversed: rho = tau = −1, exact p = 2/120", () => {
    const r = rankCorrelation([0.1, 0.2, 0.3, 0.4, 0.5], [9, 7, 5, 3, 1]);
    expect(r.spearman).toBe(-1);
    expect(r.kendall).toBe(-1);
    expect(r.spearman_p).toBeCloseTo(2 / 120, 14);
    expect(r.kendall_p).toBeCloseTo(2 / 120, 14);
  });

  it("n = 5: tau 0.6 (two inversions) has p = 2·(1+4+9)/120 from the Mahonian numbers", () => {
    const r = rankCorrelation([1, 2, 3, 4, 5], [2, 1, 3, 5, 4]);
    expect(r.kendall).toBeCloseTo(0.6, 14);
    expect(r.kendall_p).toBeCloseTo(28 / 120, 14);
  });

  it("exact p-values equal a naive enumeration for n = 6 and 7 without ties", () => {
    const cases: Array<[number[], number[]]> = [
      [[1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]],
      [[1, 2, 3, 4, 5, 6], [6, 1, 5, 2, 4, 3]],
      [[3, 1, 4, 7, 5, 2, 6], [1, 2, 3, 4, 5, 6, 7]],
    ];
    for (const [x, y] of cases) {
      const r = rankCorrelation(x, y);
      expect(r.spearman).toBeCloseTo(spearmanNoTies(x, y), 12);
      expect(r.kendall).toBeCloseTo(kendallNoTies(x, y), 12);
      expect(r.spearman_p).toBeCloseTo(naiveExactP(x, y, spearmanNoTies), 12);
      expect(r.kendall_p).toBeCloseTo(naiveExactP(x, y, kendallNoTies), 12);
    }
  });

  it("ties: tau-b and rho on mid-ranks by hand", () => {
    // Pairs: 3 concordant, 1 discordant, one tied in x, one tied in y → S = 2, tau-b = 2/sqrt(5·5).
    // Centered mid-ranks x (−1.5, 0, 0, 1.5), y (−1.5, 1.5, 0, 0): rho = 2.25 / 4.5.
    const r = rankCorrelation([1, 2, 2, 3], [1, 3, 2, 2]);
    expect(r.kendall).toBeCloseTo(0.4, 14);
    expect(r.spearman).toBeCloseTo(0.5, 14);
    // The exact test permutes mid-ranks: check against a naive enumeration of the tied values.
    const tauB = (a: number[], b: number[]) => rankCorrelation(a, b).kendall!;
    expect(r.kendall_p).toBeCloseTo(naiveExactP([1, 2, 2, 3], [1, 3, 2, 2], tauB), 12);
  });

  it("a constant variable has no correlation", () => {
    const r = rankCorrelation([1, 1, 1], [1, 2, 3]);
    expect(r.spearman).toBeNull();
    expect(r.kendall_p).toBeNull();
  });

  it(`n > ${EXACT_MAX_N}: Spearman by Student's t, Kendall by the normal approximation`, () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const y = [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11];
    const r = rankCorrelation(x, y);
    expect(r.p_method).toBe("asymptotic");
    const rho = spearmanNoTies(x, y);
    expect(r.spearman).toBeCloseTo(rho, 12);
    expect(r.spearman_p).toBeCloseTo(studentTTwoSided(rho * Math.sqrt(10 / (1 - rho * rho)), 10), 14);
    // Six discordant pairs of 66: S = 54, Var(S) = n(n−1)(2n+5)/18.
    const variance = (12 * 11 * 29) / 18;
    expect(kendallVarianceOfS(x, y)).toBeCloseTo(variance, 10);
    expect(r.kendall_p).toBeCloseTo(normalTwoSided(54 / Math.sqrt(variance)), 14);
  });

  it("Kendall's variance with ties adds the tie terms", () => {
    // x ties: one pair (t = 2); y: none. v0 = 4·3·13 = 156, vx = 2·1·9 = 18 → (156 − 18)/18; v1 = v2 = 0.
    expect(kendallVarianceOfS([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(138 / 18, 12);
  });
});

describe("tail probabilities", () => {
  it("Student's t against closed forms (df 1: Cauchy, df 2) and a table value", () => {
    for (const t of [0.3, 1, 2.5, 12]) {
      expect(studentTTwoSided(t, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(t), 12);
      expect(studentTTwoSided(-t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 12);
    }
    expect(studentTTwoSided(2.228138851986274, 10)).toBeCloseTo(0.05, 10);
  });

  it("normal two-sided tail at the 95% and 99% quantiles", () => {
    expect(normalTwoSided(1.959963984540054)).toBeCloseTo(0.05, 12);
    expect(normalTwoSided(-2.5758293035489)).toBeCloseTo(0.01, 12);
    expect(normalTwoSided(0)).toBeCloseTo(1, 14);
  });
});

describe("least squares", () => {
  it("an exact line", () => {
    expect(leastSquaresLine([0, 1, 2, 5], [1, 3, 5, 11])).toEqual({ slope: 2, intercept: 1, r2: 1, rmse: 0 });
  });

  it("a noisy line by hand: slope 1.1, intercept 1.1, SSE 2.7, SST 8.75", () => {
    const fit = leastSquaresLine([0, 1, 2, 3], [1, 3, 2, 5]);
    expect(fit.slope).toBeCloseTo(1.1, 14);
    expect(fit.intercept).toBeCloseTo(1.1, 14);
    expect(fit.r2).toBeCloseTo(1 - 2.7 / 8.75, 14);
    expect(fit.rmse).toBeCloseTo(Math.sqrt(2.7 / 4), 14);
  });

  it("a constant metric has no line", () => {
    expect(leastSquaresLine([2, 2, 2], [1, 2, 3]).slope).toBeNull();
  });
});

describe("noise of a proportion", () => {
  // p = 0.96 on 2000 samples: SE = sqrt(0.96·0.04/2000) = 0.0043817805.
  const se = Math.sqrt((0.96 * 0.04) / 2000);

  it(`a range below ${NOISE_SE_MULTIPLE} binomial standard errors is noise, above is not`, () => {
    const within = assessNoise({ targets: [0.956, 0.964], test_sizes: [2000, 2000], kind: "proportion" });
    expect(within.standard_error).toBeCloseTo(se, 15);
    expect(within.threshold).toBeCloseTo(2 * se, 15);
    expect(within.within_noise).toBe(true);
    expect(within.explanation).toBe("within noise: range 0.008 vs 2 × SE 0.00438 = 0.00876 (binomial, n = 2000)");
    const above = assessNoise({ targets: [0.9555, 0.9645], test_sizes: [2000, 2000], kind: "proportion" });
    expect(above.within_noise).toBe(false);
  });

  it("uses the smallest test set", () => {
    const noise = assessNoise({ targets: [0.95, 0.97], test_sizes: [2000, 500], kind: "proportion" });
    expect(noise.standard_error).toBeCloseTo(Math.sqrt((0.96 * 0.04) / 500), 15);
  });

  it("is not assessed without test sizes or for other targets", () => {
    expect(assessNoise({ targets: [0.9, 0.95], test_sizes: [null, 2000], kind: "proportion" })).toMatchObject({ assessed: false, within_noise: false });
    expect(assessNoise({ targets: [0.2, 0.3], test_sizes: [2000, 2000], kind: "other" })).toMatchObject({ assessed: false, within_noise: false });
    expect(assessNoise({ targets: [1.5, 0.3], test_sizes: [2000, 2000], kind: "proportion" }).assessed).toBe(false);
    expect(assessNoise({ targets: [0.5, 0.5], test_sizes: [null, null], kind: "other" }).within_noise).toBe(true);
  });
});

describe("metric association verdicts", () => {
  const above = assessNoise({ targets: [0.5, 0.9], test_sizes: [1000, 1000], kind: "proportion" });
  const within = assessNoise({ targets: [0.9, 0.901], test_sizes: [1000, 1000], kind: "proportion" });
  const points = (metric: number[], target: number[]) => metric.map((m, i) => ({ metric: m, target: target[i]! }));

  it("smaller is better holds when a significant negative correlation meets a higher-is-better target", () => {
    const a = metricAssociation(points([5, 4, 3, 2, 1], [0.5, 0.6, 0.7, 0.8, 0.9]), "higher", above);
    expect(a.smaller_is_better).toBe(true);
    expect(a.conclusion).toBe("smaller is better holds (Spearman -1.00, p = 0.017)");
    const loss = metricAssociation(points([5, 4, 3, 2, 1], [0.5, 0.6, 0.7, 0.8, 0.9]), "lower", above);
    expect(loss.smaller_is_better).toBe(false);
    expect(loss.direction).toBe("larger is better");
  });

  it("no conclusion within noise, with too few points, or without significance", () => {
    expect(metricAssociation(points([5, 4, 3, 2, 1], [0.5, 0.6, 0.7, 0.8, 0.9]), "higher", within).smaller_is_better).toBeNull();
    expect(metricAssociation(points([2, 1], [0.5, 0.9]), "higher", above).conclusion).toBe("no conclusion: 2 checkpoints with a value, at least 3 are needed");
    const weak = metricAssociation(points([1, 2, 3, 5, 4], [0.5, 0.6, 0.7, 0.8, 0.9]), "higher", above);
    expect(weak.smaller_is_better).toBeNull();
    expect(weak.direction).toBe("larger is better");
    expect(weak.conclusion).toBe("no conclusion: the rank correlation is not significant (Spearman +0.90, p = 0.083)");
  });
});
