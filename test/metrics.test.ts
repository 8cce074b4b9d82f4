import { describe, expect, it } from "vitest";
import { alphaWeighted, logAlphaNorm, normColumns, spectralEntropy } from "../core/metrics/columns.js";
import { FIT_THRESHOLD, fitPowerLaw, fitTail, trainingWarning } from "../core/metrics/powerlaw.js";
import { EPS, poolSpectrum } from "../core/metrics/spectrum.js";
import { compensatedSum } from "../core/metrics/summation.js";
import { summarize } from "../core/metrics/summary.js";
import { layerRecord, type LayerFacts } from "../core/metrics/record.js";
import type { LayerRecord } from "../core/report.js";
import { seededRandom } from "./seeded-random.js";

/** The fit exactly as spec §3.3 writes it, O(n²), no early exit: the reference for fitTail. */
function bruteForceFit(x: number[]): { alpha: number; D: number; index: number } {
  let best = { alpha: NaN, D: Infinity, index: -1 };
  for (let i = 0; i < x.length - 1; i++) {
    const m = x.length - i;
    let s = 0;
    for (let j = i; j < x.length; j++) s += Math.log(x[j]! / x[i]!);
    const alpha = 1 + m / s;
    let D = 1;
    if (alpha > 1) {
      D = 0;
      for (let k = 0; k < m; k++) D = Math.max(D, Math.abs(1 - Math.pow(x[i + k]! / x[i]!, 1 - alpha) - k / m));
    }
    if (D < best.D) best = { alpha, D, index: i };
  }
  return best;
}

function heavyTailed(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  // Pareto-like values 1/u^(1/1.5), sorted ascending.
  return Float64Array.from({ length: n }, () => Math.pow(1 - random(), -1 / 1.5)).sort();
}

describe("fitTail (weightwatcher's fitter, §3.3)", () => {
  it("chooses the same xmin, alpha and D as the literal O(n²) definition", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const data = heavyTailed(300, seed);
      const fit = fitTail(data)!;
      const reference = bruteForceFit(Array.from(data));
      expect(fit.index).toBe(reference.index);
      expect(Math.abs(fit.alpha - reference.alpha) / reference.alpha).toBeLessThan(1e-12);
      expect(Math.abs(fit.D - reference.D) / reference.D).toBeLessThan(1e-12);
      expect(fit.tailSize).toBe(300 - reference.index);
    }
  });

  it("fits two points (one candidate) and returns null for fewer", () => {
    const fit = fitTail(Float64Array.from([1, Math.E]))!;
    expect(fit.index).toBe(0);
    expect(fit.alpha).toBeCloseTo(1 + 2 / 1, 14); // Σ ln(x/xmin) = 1
    expect(fitTail(Float64Array.from([3]))).toBeNull();
  });

  it("counts the tail by position when values tie, and an all-equal tail has alpha = +inf", () => {
    // Candidate 0: tail of 3, CDF 0 at every point vs the lower steps 0, 1/3, 2/3 → D = 2/3;
    // candidate 1: tail of 2 (the tie below position 1 is not counted) → D = 1/2, the argmin.
    const fit = fitTail(Float64Array.from([2, 2, 2]))!;
    expect(fit.alpha).toBe(Infinity);
    expect(fit.D).toBe(1 / 2);
    expect(fit.index).toBe(1);
    expect(fit.tailSize).toBe(2);
  });
});

describe("fitPowerLaw (§3.3-§3.6)", () => {
  const esd = Float64Array.from([0, 1e-6, ...heavyTailed(60, 9)]);

  it("leaves eigenvalues <= 1e-5 out of the fit but counts spikes over the ESD", () => {
    const outcome = fitPowerLaw(esd, { xmax: null, compat: true });
    expect(outcome.status).toBe("success");
    if (outcome.status !== "success") return;
    const reference = bruteForceFit(Array.from(esd.filter((v) => v > FIT_THRESHOLD)));
    expect(outcome.xmin).toBe(esd.filter((v) => v > FIT_THRESHOLD)[reference.index]);
    expect(outcome.xmax).toBe(esd[esd.length - 1]);
    expect(outcome.num_pl_spikes).toBe(esd.filter((v) => v >= outcome.xmin).length);
    expect(outcome.sigma).toBeCloseTo((outcome.alpha - 1) / Math.sqrt(outcome.num_pl_spikes), 14);
  });

  it("integer xmax drops the |k| largest eigenvalues from the fit", () => {
    const outcome = fitPowerLaw(esd, { xmax: -2, compat: true });
    expect(outcome.status).toBe("success");
    if (outcome.status !== "success") return;
    expect(outcome.xmax).toBe(esd[esd.length - 3]);
    const reference = bruteForceFit(Array.from(esd.subarray(0, esd.length - 2).filter((v) => v > FIT_THRESHOLD)));
    expect(Math.abs(outcome.alpha - reference.alpha)).toBeLessThan(1e-12 * reference.alpha);
  });

  it("fails with fewer than 2 eigenvalues above 1e-5", () => {
    const outcome = fitPowerLaw(Float64Array.from([0, 0, 1e-6, 4]), { xmax: null, compat: false });
    expect(outcome).toEqual({ status: "failed", reason: "fewer than 2 eigenvalues above 0.00001" });
  });

  it("integer xmax beyond half the ESD: a clean failure by default, weightwatcher's fit anyway in compat (§15.14)", () => {
    const small = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const corrected = fitPowerLaw(small, { xmax: 4, compat: false });
    expect(corrected.status).toBe("failed");
    expect(corrected.status === "failed" && corrected.reported).toBeUndefined();
    const ww = fitPowerLaw(small, { xmax: 4, compat: true });
    expect(ww.status).toBe("failed");
    // |k| = 4 snaps to the eigenvalue 4: the fit runs on [1, 2, 3, 4].
    if (ww.status === "failed") expect(ww.reported?.xmax).toBe(4);
  });

  it("warning thresholds are strict at 2 and 6 (§3.5)", () => {
    expect(trainingWarning(1.999)).toBe("over-trained");
    expect(trainingWarning(2)).toBe("");
    expect(trainingWarning(6)).toBe("");
    expect(trainingWarning(6.0001)).toBe("under-trained");
    expect(trainingWarning(-1)).toBe("over-trained");
  });
});

describe("spectrum and norm columns (§3.2)", () => {
  it("clamps negative Gram eigenvalues and snaps those <= M·ε·λ_max to exact 0", () => {
    const m = 4;
    const lambdaMax = 10;
    const noise = m * EPS * lambdaMax * 0.5;
    const spectrum = poolSpectrum([Float64Array.from([-noise, noise, 2, lambdaMax])], m);
    expect(Array.from(spectrum.esd)).toEqual([0, 0, 2, 10]);
    expect(spectrum.rank_loss).toBe(2);
    const columns = normColumns(spectrum, { tolerance: 1e-6, compat: true });
    expect(columns.matrix_rank).toBe(2);
    expect(columns.sv_min).toBe(0);
    expect(columns.weak_rank_loss).toBe(2);
    expect(columns.norm).toBe(12);
    expect(columns.stable_rank).toBe(1.2);
    expect(columns.log_spectral_norm).toBe(1);
    expect(columns.sv_max).toBe(Math.sqrt(10));
  });

  it("a zero tolerance means the default 1e-6; a larger one counts more", () => {
    const spectrum = poolSpectrum([Float64Array.from([5e-7, 5e-4, 1, 2])], 4);
    expect(normColumns(spectrum, { tolerance: 0, compat: false }).weak_rank_loss).toBe(1);
    expect(normColumns(spectrum, { tolerance: 1e-3, compat: false }).weak_rank_loss).toBe(2);
  });

  it("sv_min over several matrices: weightwatcher's max of minima (§15.9) vs the minimum", () => {
    const spectrum = poolSpectrum([Float64Array.from([1, 4]), Float64Array.from([9, 16])], 2);
    expect(normColumns(spectrum, { tolerance: 1e-6, compat: true }).sv_min).toBe(3);
    expect(normColumns(spectrum, { tolerance: 1e-6, compat: false }).sv_min).toBe(1);
  });

  it("entropy of a rank-1 layer: ≈667 in compat (ln(1+1e-10) denominator, §15.11), 0 by default", () => {
    const esd = new Float64Array(30);
    esd[29] = 1;
    const ww = spectralEntropy(esd, 1, 1, true);
    const expected = -(29 * 1e-10 * Math.log(1e-10) + (1 + 1e-10) * Math.log(1 + 1e-10)) / Math.log(1 + 1e-10);
    expect(Math.abs(ww - expected) / expected).toBeLessThan(1e-6);
    expect(ww).toBeGreaterThan(666);
    expect(ww).toBeLessThan(668);
    expect(spectralEntropy(esd, 1, 1, false)).toBe(0);
  });

  it("entropy of a flat spectrum is 1", () => {
    const esd = Float64Array.from([2, 2, 2, 2]);
    expect(spectralEntropy(esd, 8, 4, false)).toBeCloseTo(1, 8);
  });

  it("alpha-weighted and alpha norms", () => {
    expect(alphaWeighted(3, 100)).toBe(6);
    expect(logAlphaNorm(Float64Array.from([0, 1, 3]), 2)).toBeCloseTo(1, 15);
    expect(logAlphaNorm(Float64Array.from([0, 1]), -1)).toBe(Infinity); // failed fit, zero eigenvalue
  });

  it("compensated sums are exact where naive sums are not", () => {
    expect(compensatedSum([1e16, 1, -1e16])).toBe(1);
    expect(compensatedSum([0.1, 0.2, 0.3], 1, 3)).toBeCloseTo(0.5, 16);
  });
});

function facts(overrides: Partial<LayerFacts> = {}): LayerFacts {
  return { layer_id: 1, name: "fc", longname: "fc", layer_type: "dense", type_rule: "rank", N: 40, M: 4, rf: 1, cols: 4, ...overrides };
}

describe("layerRecord: failed fits (§3.4, §15.1, §15.2)", () => {
  const rankOne = [Float64Array.from([0, 0, 0, 5])];

  it("weightwatcher-compatible: −1 sentinels, alpha = −1 in the norms, 'over-trained'", () => {
    const record = layerRecord(facts(), rankOne, { tolerance: 1e-6, xmax: null, compat: "ww" });
    expect(record.status).toBe("failed");
    expect([record.alpha, record.D, record.sigma, record.xmin, record.num_pl_spikes, record.xmax]).toEqual([-1, -1, -1, -1, -1, null]);
    expect(record.alpha_weighted).toBeCloseTo(-Math.log10(5), 15);
    expect(record.log_alpha_norm).toBe(Infinity);
    expect(record.warning).toBe("over-trained");
    expect(record.fit_failure).toBe("fewer than 2 eigenvalues above 0.00001");
  });

  it("default: no numbers for the fit and the warning 'fit-failed'", () => {
    const record = layerRecord(facts(), rankOne, { tolerance: 1e-6, xmax: null, compat: "default" });
    expect(record.status).toBe("failed");
    expect([record.alpha, record.alpha_weighted, record.log_alpha_norm, record.D, record.sigma, record.xmin, record.xmax, record.num_pl_spikes])
      .toEqual([null, null, null, null, null, null, null, null]);
    expect(record.warning).toBe("fit-failed");
    expect(record.entropy).toBe(0);
    expect(record.lambda_max).toBe(5);
    expect(record.matrix_rank).toBe(1);
    expect(record.rank_loss).toBe(3);
  });
});

describe("summarize (§3.9)", () => {
  const row = (alpha: number | null, status: "success" | "failed", logAlphaNorm: number | null): LayerRecord =>
    ({ alpha, status, log_alpha_norm: logAlphaNorm, alpha_weighted: alpha, log_norm: 1, log_spectral_norm: 2, stable_rank: 3 }) as LayerRecord;

  it("compat: pandas means with the −1 sentinels and ±∞ included (§15.1)", () => {
    const summary = summarize([row(3, "success", 2), row(-1, "failed", Infinity)], { compat: "ww" });
    expect(summary.alpha).toBe(1);
    expect(summary.log_alpha_norm).toBe(Infinity);
    expect(summary.log_norm).toBe(1);
    expect(summary.num_layers).toBe(2);
    expect(summary.num_failed_fits).toBe(1);
  });

  it("default: alpha-derived means over successful fits only", () => {
    const summary = summarize([row(3, "success", 2), row(5, "success", 4), row(null, "failed", null)], { compat: "default" });
    // The records carry no few_evals mark, so no layer counts as reliable (reliable means absent).
    expect(summary).toEqual({ num_layers: 3, num_failed_fits: 1, alpha: 4, alpha_weighted: 4, log_alpha_norm: 3, log_norm: 1, log_spectral_norm: 2, stable_rank: 3, num_reliable_layers: 0, min_reliable_evals: 50 });
  });

  it("an empty table has no means", () => {
    expect(summarize([], { compat: "ww" })).toEqual({ num_layers: 0, num_failed_fits: 0, num_reliable_layers: 0, min_reliable_evals: 50 });
  });
});
