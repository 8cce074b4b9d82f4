/**
 * Part B of the analysis options, beyond parity: the incomplete gamma function behind the
 * truncated power law, fix_fingers xmin_peak in the default mode, fit diagnostics, fit
 * reliability (few_evals, reliable means), xmax 'force' by default, conv1d per-tap analysis and
 * the validation of the fit options.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, resolveOptions } from "../core/analyze.js";
import { UsageError } from "../core/errors.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { EULER_GAMMA, gamma1pm1, upperIncompleteGamma } from "../core/metrics/incomplete-gamma.js";
import { esdPeak, histogram } from "../core/metrics/xmin-peak.js";
import type { AnalyzeOptions, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { writeSafetensors, type FixtureTensor } from "./fixtures.js";
import { goldenEvals, oracleCaseBytes, readGolden } from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { xorshiftCentered } from "./seeded-random.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = (await testKernel()).kernel;
});

function expectRel(actual: number, expected: number, rel: number, what = ""): void {
  expect(Math.abs(actual - expected), `${what} ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected));
}

describe("upper incomplete gamma Γ(s, z)", () => {
  // E1(z) = Γ(0, z), exponential integral values (Abramowitz & Stegun table 5.1, to 20 digits).
  const E1: Array<[number, number]> = [[0.5, 0.55977359477616081175], [1, 0.21938393439552027368], [2, 0.048900510708061119567], [5, 0.0011482955912753257973]];

  it("positive orders near z = 0: Γ(s, 0) = Γ(s) and no cancellation for tiny z (SciPy gamma·gammaincc)", () => {
    const reference: Array<[number, number, number]> = [
      [0.3, 0, 2.991568987687591], [0.6, 1e-12, 1.4891921436532598], [2.6, 1e-12, 1.4296245588603045],
      [0.7, 1e-300, 1.2980553326475581], [0.6, 0.5, 0.5675296513043793], [3.5, 2, 2.5914740071910747],
    ];
    for (const [order, z, expected] of reference) expectRel(upperIncompleteGamma(order, z), expected, 1e-14, `Γ(${order}, ${z})`);
  });

  it("Γ(0, z) = E1(z) on both branches (series z <= 1, continued fraction z > 1)", () => {
    for (const [z, e1] of E1) expectRel(upperIncompleteGamma(0, z), e1, 2e-15, `Γ(0, ${z})`);
  });

  it("closed forms: Γ(1, z) = e^−z, Γ(2, z) = (1 + z)e^−z, Γ(−1, z) = e^−z/z − E1(z)", () => {
    for (const [z, e1] of E1) {
      expectRel(upperIncompleteGamma(1, z), Math.exp(-z), 2e-15, `Γ(1, ${z})`);
      expectRel(upperIncompleteGamma(2, z), (1 + z) * Math.exp(-z), 2e-15, `Γ(2, ${z})`);
      expectRel(upperIncompleteGamma(-1, z), Math.exp(-z) / z - e1, 1e-14, `Γ(−1, ${z})`);
    }
  });

  it("matches 20-digit reference values (mpmath at 40 digits) for negative, near-zero and positive s", () => {
    const reference: Array<[number, number, number]> = [
      [-0.999999, 0.3, 1.5637163686582986259],
      [-3.5, 0.01, 2817473.1189032794614],
      [-1e-9, 2.5, 0.02491491784119022288],
      [-1e-9, 0.25, 1.0442826349841171163],
      [-8.7, 40, 9.8991508833171811073e-34],
      [-2.25, 1.0, 0.10274004292544127947],
      [-5.0000001, 0.7, 0.50599575818034880486],
      [-0.5, 3.0, 0.0067761360017702122938],
      [0.3, 0.2, 1.0245922621662354348],
      [2.5, 4.0, 0.20769032981158048375],
    ];
    for (const [s, z, value] of reference) expectRel(upperIncompleteGamma(s, z), value, 1e-14, `Γ(${s}, ${z})`);
  });

  it("satisfies Γ(s+1, z) = sΓ(s, z) + z^s e^−z across the branches and for s within 1e-12 of 0", () => {
    for (const s of [-7.3, -2.5, -1.0000001, -0.5, -1e-6, -1e-12, 0.25]) {
      for (const z of [1e-4, 0.05, 0.7, 1, 1.3, 4, 25]) {
        const lhs = upperIncompleteGamma(s + 1, z);
        const scaled = s * upperIncompleteGamma(s, z);
        const power = Math.pow(z, s) * Math.exp(-z);
        // The check itself cancels when both terms are large (small z): allow rounding of their sizes.
        const bound = 1e-14 * Math.abs(lhs) + 4e-16 * (Math.abs(scaled) + power);
        expect(Math.abs(scaled + power - lhs), `s=${s} z=${z}`).toBeLessThanOrEqual(bound);
      }
    }
  });

  it("is continuous in s through 0 (no cancellation in the small-order branch)", () => {
    for (const [z, e1] of E1) {
      // dΓ(s, z)/ds is O(1), so a step of 1e-12 moves the value by ~1e-12.
      expect(Math.abs(upperIncompleteGamma(-1e-12, z) - e1)).toBeLessThan(1e-11);
      expect(Math.abs(upperIncompleteGamma(1e-12, z) - e1)).toBeLessThan(1e-11);
    }
  });

  it("gamma1pm1: Γ(1+s) − 1 with Γ(1.5) = √π/2, Γ(0.5) = √π and slope −γ at 0", () => {
    expectRel(gamma1pm1(0.5), Math.sqrt(Math.PI) / 2 - 1, 1e-15);
    expectRel(gamma1pm1(-0.5), Math.sqrt(Math.PI) - 1, 1e-15);
    expectRel(gamma1pm1(1e-10), -EULER_GAMMA * 1e-10, 1e-9);
    expect(() => gamma1pm1(0.75)).toThrow(RangeError);
  });

  it("underflows to 0 and handles the ends of its domain", () => {
    expect(upperIncompleteGamma(-2, 800)).toBe(0);
    expect(upperIncompleteGamma(-2, Infinity)).toBe(0);
    expect(upperIncompleteGamma(-2, 0)).toBe(Infinity);
    expect(upperIncompleteGamma(-2, -1)).toBeNaN();
  });
});

describe("the ESD peak of fix_fingers xmin_peak", () => {
  it("numpy's histogram: half-open bins, the last one closed, a constant sample widened by 0.5", () => {
    const { counts, edges } = histogram(Float64Array.from([0, 1, 2, 3, 4]), 4);
    expect(Array.from(edges)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(counts)).toEqual([1, 1, 1, 2]);
    expect(Array.from(histogram(Float64Array.from([2, 2]), 2).edges)).toEqual([1.5, 2, 2.5]);
  });

  it("the peak is 10^(left edge of the fullest log10 bin)", () => {
    const values = Float64Array.from([1, 10, 10.5, 11, 100]);
    // log10 spans [0, 2] in 100 bins of 0.02: 1.0, 1.0212, 1.0414 fall in bins 50, 51, 52; bin 0 and 99 hold one each.
    expectRel(esdPeak(values), 1, 1e-15);
    expectRel(esdPeak(Float64Array.from([1, 10, 10.01, 10.02, 100])), Math.pow(10, 50 * 0.02), 1e-15);
  });
});

/** Plain O(n²) reading of weightwatcher's fitter restricted to candidates lo <= x_i <= hi (spec §3.3, §6.2). */
function referenceRestrictedFit(data: number[], lo: number, hi: number): { alpha: number; D: number; xmin: number } {
  let best = { alpha: NaN, D: Infinity, xmin: NaN };
  for (let i = 0; i < data.length - 1; i++) {
    const u = data[i]!;
    if (u < lo || u > hi) continue;
    const m = data.length - i;
    let logSum = 0;
    for (let j = i; j < data.length; j++) logSum += Math.log(data[j]! / u);
    const alpha = 1 + m / logSum;
    let D = 0;
    for (let k = 0; k < m; k++) D = Math.max(D, Math.abs(1 - Math.pow(data[i + k]! / u, 1 - alpha) - k / m));
    if (D < best.D) best = { alpha, D, xmin: u };
  }
  return best;
}

describe.skipIf(!hasShared)("options on the oracle cases (default mode)", () => {
  async function run(caseName: string, options: Partial<AnalyzeOptions>): Promise<Report> {
    return analyze(bytesSource(oracleCaseBytes(caseName), caseName), options, { kernel, keepEvals: true, hashSource: false });
  }

  it("fix_fingers xmin_peak works with weightwatcher's fitter: candidates in [0.95·peak, 1.5·peak]", async () => {
    for (const caseName of ["gaussian_300x300", "pareto_500x500", "real_mlp"]) {
      const report = await run(caseName, { fix_fingers: "xmin_peak" });
      const ww = await run(caseName, { fix_fingers: "xmin_peak", compat: "ww" });
      for (const row of report.layers) {
        expect(ww.layers.find((r) => r.layer_id === row.layer_id)!.status).toBe("failed");
        const data = row.evals!.filter((v) => v > 1e-5);
        const peak = esdPeak(Float64Array.from(data));
        const expected = referenceRestrictedFit(data, 0.95 * peak, 1.5 * peak);
        expect(row.status, `${caseName} ${row.name}`).toBe("success");
        expect(row.xmin).toBe(expected.xmin);
        expectRel(row.alpha!, expected.alpha, 1e-12, `${caseName} ${row.name} alpha`);
        expectRel(row.D!, expected.D, 1e-12, `${caseName} ${row.name} D`);
        expect(row.xmin!).toBeGreaterThanOrEqual(0.95 * peak);
        expect(row.xmin!).toBeLessThanOrEqual(1.5 * peak);
      }
    }
  });

  it("fix_fingers xmin_peak with the package uses the corrected linear range by default", async () => {
    const report = await run("gaussian_300x300", { fix_fingers: "xmin_peak", pl_package: "powerlaw" });
    const row = report.layers[0]!;
    const data = row.evals!.filter((v) => v > 1e-5);
    const peak = esdPeak(Float64Array.from(data));
    // weightwatcher's log10 lower bound let it search down to 1.6419 (golden); the linear one stays near the peak.
    expect(readGolden("gaussian_300x300", "fix_fingers_xmin_peak_powerlaw").details[0]!.xmin).toBe(1.641932122688656);
    expect(row.xmin!).toBeGreaterThanOrEqual(0.95 * peak);
    expect(row.xmax).toBe(row.lambda_max);
  });

  it("fit_diagnostics: every candidate's KS distance; the chosen one is the first minimum", async () => {
    for (const options of [{}, { pl_package: "powerlaw" as const }, { fit: "TPL" as const }]) {
      const report = await run("gaussian_100x200", { ...options, fit_diagnostics: true });
      const row = report.layers[0]!;
      const diagnostics = row.fit_diagnostics!;
      expect(diagnostics.fitter).toBe("fit" in options || "pl_package" in options ? "powerlaw" : "ww");
      // 100 distinct eigenvalues above 1e-5: every one but the largest is a candidate.
      expect(diagnostics.xmins.length).toBe(99);
      expect(diagnostics.Ds.length).toBe(99);
      expect(diagnostics.xmins).toEqual(row.evals!.slice(0, 99));
      const best = diagnostics.Ds.indexOf(Math.min(...diagnostics.Ds));
      expect(diagnostics.xmin).toBe(row.xmin);
      expect(diagnostics.xmins[best]).toBe(row.xmin);
      expect(diagnostics.Ds[best]).toBe(row.D);
      expect(diagnostics.alphas[best]).toBe(row.alpha);
      if ("fit" in options) expect(diagnostics.Lambdas![best]).toBe(row.Lambda);
    }
    const plain = await run("gaussian_100x200", {});
    expect(plain.layers[0]!.fit_diagnostics).toBeUndefined();
    // Without diagnostics the fit is the same (the early-stopped distances never decide).
    expect(plain.layers[0]!.alpha).toBe((await run("gaussian_100x200", { fit_diagnostics: true })).layers[0]!.alpha);
  });

  it("xmax 'force' by default: the package's truncated KS distance, xmax reported as λ_max", async () => {
    const golden = readGolden("gaussian_300x300", "xmax_force").details[0]!;
    for (const pl_package of ["ww", "powerlaw"] as const) {
      const row = (await run("gaussian_300x300", { xmax: "force", pl_package })).layers[0]!;
      expectRel(row.alpha!, golden.alpha as number, 1e-9);
      expect(row.xmin).toBe(golden.xmin);
      expect(row.xmax).toBe(row.lambda_max);
    }
  });

  it("goldens' eigenvalues reach the fitter unchanged (the TPL golden's num_pl_spikes is #{λ >= xmin})", () => {
    const golden = readGolden("pareto_500x500", "tpl_powerlaw");
    const row = golden.details[0]!;
    const evals = goldenEvals(golden, 1);
    expect(evals.filter((v) => v >= (row.xmin as number)).length).toBe(row.num_pl_spikes);
  });
});

describe.skipIf(!hasShared)("fit reliability on a real checkpoint (mlp_epochs/run_ep0100)", () => {
  // weightwatcher 0.7.5.5 on this file (models/series/ww-0.7.5.5-layers.tsv).
  const WW_ALPHA: Record<string, number> = { fc1: 2.3159213369555864, fc2: 1.8975835320489103, fc3: 9.23414364056348 };
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = new Uint8Array(readFileSync(sharedPath("models", "series", "mlp_epochs", "run_ep0100.safetensors")));
  });

  it("marks the 10-eigenvalue output layer few_evals and leaves it out of the reliable means only", async () => {
    for (const compat of ["default", "ww-file"] as const) {
      const report = await analyze(bytesSource(bytes, "run_ep0100"), { compat }, { kernel, hashSource: false });
      expect(report.layers.map((r) => [r.name, r.num_evals, r.few_evals])).toEqual([["fc1", 300, false], ["fc2", 100, false], ["fc3", 10, true]]);
      expect(report.layers[2]!.warning).toBe("under-trained");
      const all = (WW_ALPHA.fc1! + WW_ALPHA.fc2! + WW_ALPHA.fc3!) / 3;
      expectRel(report.summary.alpha!, all, 1e-9, "WW's mean");
      expectRel(report.summary.reliable_alpha!, (WW_ALPHA.fc1! + WW_ALPHA.fc2!) / 2, 1e-9, "reliable mean");
      expect(report.summary.num_reliable_layers).toBe(2);
      expect(report.summary.min_reliable_evals).toBe(50);
      // models/series/README.md: "alpha (layers >= 50 evals)" 2.107 against WW's 4.483.
      expect(report.summary.reliable_alpha!.toFixed(3)).toBe("2.107");
      const weighted = report.layers.slice(0, 2).map((r) => r.alpha_weighted!);
      expectRel(report.summary.reliable_alpha_weighted!, (weighted[0]! + weighted[1]!) / 2, 1e-15);
    }
  });

  it("the threshold is configurable", async () => {
    const loose = await analyze(bytesSource(bytes, "run_ep0100"), { min_reliable_evals: 10 }, { kernel, hashSource: false });
    expect(loose.layers.every((r) => r.few_evals === false)).toBe(true);
    expect(loose.summary.reliable_alpha).toBe(loose.summary.alpha);
    const strict = await analyze(bytesSource(bytes, "run_ep0100"), { min_reliable_evals: 1000 }, { kernel, hashSource: false });
    expect(strict.summary.num_reliable_layers).toBe(0);
    expect(strict.summary.reliable_alpha).toBeUndefined();
  });
});

describe("conv1d layers by default: per-tap slicing as a conv2d with kh = 1", () => {
  function tensor(name: string, shape: number[], seed: number): FixtureTensor {
    const count = shape.reduce((a, b) => a * b, 1);
    const next = xorshiftCentered(seed);
    const data = Float64Array.from({ length: count }, () => next());
    return { name, dtype: "F64", shape, data };
  }

  it("gives the conv2d [out, in, 1, k] numbers; compat ww skips it", async () => {
    const conv1d = tensor("c.weight", [24, 16, 5], 12345);
    const asConv2d = { ...conv1d, shape: [24, 16, 1, 5] };
    const one = await analyze(bytesSource(writeSafetensors([conv1d]), "c1"), { fit_diagnostics: false }, { kernel, keepEvals: true, hashSource: false });
    const two = await analyze(bytesSource(writeSafetensors([asConv2d]), "c2"), {}, { kernel, keepEvals: true, hashSource: false });
    const [a, b] = [one.layers[0]!, two.layers[0]!];
    expect([a.layer_type, a.N, a.M, a.rf, a.num_evals]).toEqual(["conv1d", 24, 16, 5, 80]);
    expect(b.layer_type).toBe("conv2d");
    expect(a.evals).toEqual(b.evals);
    expect(a.alpha).toBe(b.alpha);
    const ww = await analyze(bytesSource(writeSafetensors([conv1d]), "c1"), { compat: "ww" }, { kernel, hashSource: false });
    expect(ww.layers).toEqual([]);
    expect(ww.skipped).toEqual([{ name: "c.weight", reason: "3-D tensor [24,16,5]: conv1d is not analyzed" }]);
  });
});

describe("validation of the fit options", () => {
  it("refuses in compat what weightwatcher refuses, accepts it by default, names the option", () => {
    expect(() => resolveOptions({ fit: "TPL", compat: "ww" })).toThrow(/^option fit: TPL needs pl_package "powerlaw"/);
    expect(() => resolveOptions({ fit: "E_TPL", compat: "ww-file" })).toThrow(UsageError);
    expect(() => resolveOptions({ xmax: "force", compat: "ww" })).toThrow(/^option xmax: "force" needs pl_package "powerlaw"/);
    expect(resolveOptions({ fit: "TPL", pl_package: "powerlaw", compat: "ww" }).fit).toBe("TPL");
    expect(resolveOptions({ fit: "TPL" }).fit).toBe("TPL");
    expect(resolveOptions({ xmax: "force" }).xmax).toBe("force");
    expect(resolveOptions({ fit: "truncated_power_law" as never }).fit).toBe("TPL");
    expect(() => resolveOptions({ fit: "lognormal" as never })).toThrow(/^option fit: "lognormal" is not one of/);
    expect(() => resolveOptions({ pl_package: "scipy" as never })).toThrow(/^option pl_package/);
    expect(() => resolveOptions({ fit: "E_TPL", fix_fingers: "clip_xmax" })).toThrow(/^option fit: E_TPL/);
    expect(() => resolveOptions({ xmin_max: -1 })).toThrow(/^option xmin_max/);
    expect(() => resolveOptions({ fit_diagnostics: "yes" as never })).toThrow(/^option fit_diagnostics/);
    expect(() => resolveOptions({ min_reliable_evals: 2.5 })).toThrow(/^option min_reliable_evals/);
    expect(resolveOptions({}).min_reliable_evals).toBe(50);
  });
});

if (!hasShared) requireShared("option tests on the oracle cases and the trained series");
