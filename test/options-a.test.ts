/**
 * The analysis options of part A (randomize, seed, mp_fit, clip_xmax, detX, inverse, glorot_fix,
 * channels, start_ids, svd_method, ww2x, refused options): the ports they rest on (numpy's
 * MT19937 and shuffle, SciPy's fmin and brute), validation, and every default-mode difference
 * from weightwatcher listed in docs/differences-from-weightwatcher.md.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, resolveOptions } from "../core/analyze.js";
import { BudgetError, UsageError } from "../core/errors.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { PlannedLayer } from "../core/layers/plan.js";
import { heldMatrices, RANDOMIZE_MAX_ELEMENTS } from "../core/layers/stream.js";
import { fitWithoutFingers } from "../core/metrics/fingers.js";
import { MT19937 } from "../core/metrics/mt19937.js";
import { brute, fmin } from "../core/metrics/optimize.js";
import { fitTail } from "../core/metrics/powerlaw.js";
import { jensenShannonDistance } from "../core/metrics/randomize.js";
import type { AnalyzeOptions, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { gaussianData, writeSafetensors, type FixtureTensor } from "./fixtures.js";
import { analyzeOracleCase, readGolden } from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = (await testKernel()).kernel;
});

async function run(tensors: FixtureTensor[], options: Partial<AnalyzeOptions>): Promise<Report> {
  return analyze(bytesSource(writeSafetensors(tensors), "model.safetensors"), options, { kernel, keepEvals: true, hashSource: false });
}

function runCase(caseName: string, options: Partial<AnalyzeOptions>): Promise<Report> {
  return analyzeOracleCase(caseName, options, kernel);
}

function dense(name: string, rows: number, cols: number, seed: number): FixtureTensor {
  return { name: `${name}.weight`, dtype: "F64", shape: [rows, cols], data: gaussianData(rows * cols, seed, 1 / Math.sqrt(cols)) };
}

describe("MT19937 and numpy's legacy shuffle", () => {
  it("init_by_array seeding gives numpy's np.random.seed([0, 1, 0]) stream", () => {
    const rng = MT19937.fromKey([0, 1, 0]);
    const values = Array.from({ length: 10 }, (_, i) => i);
    rng.shuffle(values);
    // numpy 1.24: np.random.seed([0, 1, 0]); a = np.arange(10); np.random.shuffle(a)
    expect(values).toEqual([0, 9, 3, 4, 5, 7, 8, 6, 1, 2]);
  });

  it("a state taken mid-stream resumes the same stream", () => {
    const a = new MT19937(42);
    for (let i = 0; i < 1000; i++) a.nextUint32();
    const b = MT19937.fromState(a.state());
    expect(Array.from({ length: 700 }, () => b.nextUint32())).toEqual(Array.from({ length: 700 }, () => a.nextUint32()));
  });

  describe.skipIf(!hasShared)("oracle vectors (rng_vectors.json)", () => {
    interface Vectors {
      vectors: Array<{
        seed: number;
        first16_uint32: number[];
        shuffles: Array<{ n: number; result: number[] }>;
        matrix_example: { result: number[][] };
        two_consecutive_shuffles_n10: number[][];
      }>;
    }
    const data = hasShared ? (JSON.parse(readFileSync(sharedPath("oracle", "golden", "rng_vectors.json"), "utf8")) as Vectors) : { vectors: [] };
    for (const v of data.vectors) {
      it(`seed ${v.seed}: outputs, shuffles of 10 and 1000, a 3x4 matrix, two consecutive shuffles`, () => {
        const rng = new MT19937(v.seed);
        expect(Array.from({ length: 16 }, () => rng.nextUint32())).toEqual(v.first16_uint32);
        for (const s of v.shuffles) {
          const values = Array.from({ length: s.n }, (_, i) => i);
          new MT19937(v.seed).shuffle(values);
          expect(values).toEqual(s.result);
        }
        const matrix = Float64Array.from({ length: 12 }, (_, i) => i);
        new MT19937(v.seed).shuffle(matrix);
        expect(Array.from(matrix)).toEqual(v.matrix_example.result.flat());
        const stream = new MT19937(v.seed);
        const twice = [0, 1].map(() => {
          const values = Array.from({ length: 10 }, (_, i) => i);
          stream.shuffle(values);
          return values;
        });
        expect(twice).toEqual(v.two_consecutive_shuffles_n10);
      });
    }
  });
});

describe("SciPy 1.10 optimize ports", () => {
  it("fmin reproduces scipy.optimize.fmin on Rosenbrock from (-1.2, 1) bit for bit", () => {
    const result = fmin((x) => (1 - x[0]!) ** 2 + 100 * (x[1]! - x[0]! ** 2) ** 2, [-1.2, 1.0]);
    // SciPy 1.10.1: fmin(f, [-1.2, 1.0], full_output=1) -> x, fopt, iter, funcalls, warnflag
    expect(Array.from(result.x)).toEqual([1.0000220217835696, 1.0000422197517715]);
    expect(result.fun).toBe(8.177661197416674e-10);
    expect([result.nit, result.nfev, result.status]).toEqual([85, 159, 0]);
  });

  it("fmin stops at maxfun without evaluating more (status 1)", () => {
    let calls = 0;
    const result = fmin((x) => {
      calls++;
      return (x[0]! - 3) ** 2;
    }, [0], { maxfun: 7 });
    expect(calls).toBe(7);
    expect(result.status).toBe(1);
  });

  it("brute grid (np.arange semantics) plus fmin polish reproduces scipy.optimize.brute", () => {
    const result = brute((x) => Math.sin(3 * x[0]!) + (x[0]! - 0.7) ** 2, [{ start: 0.1, stop: 2.3, step: 0.013 }]);
    // SciPy 1.10.1: brute(g, (slice(0.1, 2.3, 0.013),), full_output=1)
    expect(result.x[0]).toBe(1.4071354980468747);
    expect(result.fun).toBe(-0.38182943677652614);
  });
});

describe("option validation and refusals (spec §10.8)", () => {
  const refusals: Array<[string, string]> = [
    ["add_biases", "option add_biases is not supported: weightwatcher 0.7.5.5 has no such analyze() argument and never combines biases with the weights"],
    ["fft", "option fft is not supported: weightwatcher 0.7.5.5 crashes on it (a misspelt attribute) and its authors call it probably not useful"],
    ["conv2d_fft", "option conv2d_fft is not supported: it is deprecated in weightwatcher, whose 0.7.5.5 crashes on every conv2d layer with it"],
    ["stacked", "option stacked is not supported: an experimental weightwatcher option that crashes on some models (no layer to stack, a zero-MAD column)"],
    ["intra", "option intra is not supported: an experimental weightwatcher option whose layer pairing silently drops most layers"],
  ];
  for (const [option, message] of refusals) {
    it(`${option}: refused by name in both modes, accepted when false`, () => {
      for (const compat of ["default", "ww"] as const) {
        const call = (): AnalyzeOptions => resolveOptions({ [option]: true, compat } as Partial<AnalyzeOptions>);
        expect(call).toThrow(UsageError);
        expect(call).toThrow(message);
      }
      expect(resolveOptions({ [option]: false } as Partial<AnalyzeOptions>)).not.toHaveProperty(option);
    });
  }

  it.skipIf(!hasShared)("their goldens record weightwatcher crashing, never numbers", () => {
    for (const preset of ["add_biases", "fft", "channels_first"]) expect(readGolden("gaussian_300x300", preset).error).toMatch(/Error/);
    expect(readGolden("conv2d_64x32x3x3", "conv2d_fft").error).toMatch(/Error/);
    expect(readGolden("tiny_8x40", "stacked").error).toMatch(/Error/);
  });

  it("checks each new option on its own and names it", () => {
    expect(() => resolveOptions({ fix_fingers: "clip_xmax", xmax: 2 })).toThrow("option xmax: an integer xmax (2) cannot be combined with fix_fingers clip_xmax");
    expect(() => resolveOptions({ fix_fingers: "clip" as never })).toThrow('option fix_fingers: "clip" is not false, "clip_xmax" or "xmin_peak"');
    expect(() => resolveOptions({ seed: -1 })).toThrow("option seed: -1 is not an integer from 0 to 4294967295");
    expect(() => resolveOptions({ max_fingers: 0 })).toThrow("option max_fingers: 0 is not an integer >= 1");
    expect(() => resolveOptions({ channels: "middle" as never })).toThrow('option channels: "middle" is not null, "first" (kh, kw, in, out) or "last" (out, in, kh, kw)');
    expect(() => resolveOptions({ start_ids: -1 })).toThrow("option start_ids: -1 is not an integer >= 0");
    expect(() => resolveOptions({ svd_method: "exact" as never })).toThrow('option svd_method: "exact" is not "fast" or "accurate"');
    expect(() => resolveOptions({ randomize: "yes" as never })).toThrow('option randomize: "yes" is not true or false');
  });

  it("ww2x is the deprecated alias of pool: false", () => {
    expect(resolveOptions({ ww2x: true }).pool).toBe(false);
    expect(resolveOptions({ ww2x: true, compat: "ww" }).pool).toBe(false);
  });
});

describe("default-mode behaviour of the options (docs/differences-from-weightwatcher.md)", () => {
  const model = [dense("a", 60, 40, 1), dense("b", 120, 30, 2)];

  it("svd_method is accepted and changes nothing", async () => {
    const fast = await run(model, { svd_method: "fast" });
    const accurate = await run(model, { svd_method: "accurate" });
    expect(accurate.layers).toEqual(fast.layers);
  });

  it("glorot_fix scales every eigenvalue by (N+M)·rf/2 by default; weightwatcher ignores it (§15.3)", async () => {
    const plain = await run(model, {});
    const fixed = await run(model, { glorot_fix: true });
    const compat = await run(model, { glorot_fix: true, compat: "ww" });
    const compatPlain = await run(model, { compat: "ww" });
    for (const [i, row] of fixed.layers.entries()) {
      const factor = ((row.N + row.M) * row.rf) / 2;
      const base = plain.layers[i]!;
      row.evals!.forEach((v, k) => expect(v).toBeCloseTo(base.evals![k]! * factor, 10));
      expect(row.alpha).toBeCloseTo(base.alpha!, 9);
    }
    expect(compat.layers.map((r) => r.evals)).toEqual(compatPlain.layers.map((r) => r.evals));
  });

  it("inverse by default leaves zero eigenvalues out; weightwatcher inverts them to +inf (§15.10)", async () => {
    // Rank 10 out of 30: twenty zero eigenvalues.
    const a = gaussianData(80 * 10, 3);
    const b = gaussianData(10 * 30, 4);
    const product = new Float64Array(80 * 30);
    for (let i = 0; i < 80; i++) for (let j = 0; j < 30; j++) for (let k = 0; k < 10; k++) product[i * 30 + j] = product[i * 30 + j]! + a[i * 10 + k]! * b[k * 30 + j]!;
    const tensors: FixtureTensor[] = [{ name: "low.weight", dtype: "F64", shape: [80, 30], data: product }];
    const plain = (await run(tensors, {})).layers[0]!;
    const inverse = (await run(tensors, { inverse: true })).layers[0]!;
    const compat = (await run(tensors, { inverse: true, compat: "ww" })).layers[0]!;
    expect(plain.rank_loss).toBe(20);
    expect(inverse.num_evals).toBe(10);
    const expected = plain.evals!.filter((v) => v > 0).map((v) => 1 / v).sort((x, y) => x - y);
    inverse.evals!.forEach((v, k) => expect(Math.abs(v - expected[k]!) / expected[k]!).toBeLessThan(1e-12));
    expect(inverse.sv_max).toBe(plain.sv_max);
    expect(Number.isFinite(inverse.lambda_max)).toBe(true);
    expect(compat.num_evals).toBe(30);
    expect(compat.lambda_max).toBe(Infinity);
    expect(compat.evals!.filter((v) => v === Infinity).length).toBe(20);
  });

  it("inverse with several conv2d slices: weightwatcher re-inverts the earlier slices (§15.10), the default inverts once", async () => {
    const kernelTensor: FixtureTensor = { name: "conv.weight", dtype: "F64", shape: [16, 12, 1, 2], data: gaussianData(16 * 12 * 2, 5) };
    const plain = (await run([kernelTensor], {})).layers[0]!;
    const inverse = (await run([kernelTensor], { inverse: true })).layers[0]!;
    const compat = (await run([kernelTensor], { inverse: true, compat: "ww" })).layers[0]!;
    const once = plain.evals!.map((v) => 1 / v).sort((x, y) => x - y);
    inverse.evals!.forEach((v, k) => expect(v / once[k]!).toBeCloseTo(1, 12));
    // Two slices: the first is inverted twice (back to λ), the second once.
    const compatPlain = (await run([kernelTensor], { compat: "ww" })).layers[0]!;
    expect(compat.evals!.filter((v) => compatPlain.evals!.some((w) => Math.abs(w - v) <= 1e-12 * v)).length).toBe(12);
  });

  it.skipIf(!hasShared)("clip_xmax by default honours max_fingers, tries one removal and reports the number removed (§15.7)", () => {
    const golden = readGolden("gaussian_300x300", "fix_fingers_clip_xmax");
    const esd = Float64Array.from(golden.evals["1"] as number[]);
    const compat = fitWithoutFingers(esd, { max_fingers: 10, finger_thresh: 1, compat: true })!;
    const fixed = fitWithoutFingers(esd, { max_fingers: 10, finger_thresh: 1, compat: false })!;
    expect(compat.num_fingers).toBe(golden.details[0]!.num_fingers);
    expect(compat.alpha).toBeCloseTo(golden.details[0]!.alpha as number, 12);
    // Same accepted fit, counted as removed: weightwatcher says one less.
    expect(fixed.num_fingers).toBe(compat.num_fingers + 1);
    expect(fixed.alpha).toBe(compat.alpha);
    const data = esd.filter((v) => v > 1e-5);
    expect(fixed.alpha).toBe(fitTail(data.subarray(0, data.length - fixed.num_fingers))!.alpha);
    // max_fingers 3 is honoured by default (no accepted fit within 3 removals here), replaced by 10 in compat.
    expect(fitWithoutFingers(esd, { max_fingers: 3, finger_thresh: 1, compat: false })!.num_fingers).toBe(0);
    expect(fitWithoutFingers(esd, { max_fingers: 3, finger_thresh: 1, compat: true })!.num_fingers).toBe(5);
  });

  it("detX: the default mode names the rescaled value detX_val, weightwatcher swaps the names (§15.15)", async () => {
    const fixed = (await run(model, { detX: true })).layers;
    const compat = (await run(model, { detX: true, compat: "ww" })).layers;
    for (const row of fixed) {
      const other = compat.find((r) => r.name === row.name)!;
      expect(row.detX_num).toBe(other.detX_num);
      expect(row.detX_val).toBe(other.detX_val_unrescaled);
      expect(row.detX_val_unrescaled).toBe(other.detX_val);
      // The tail's lower end in ESD units is one of the eigenvalues.
      expect(row.evals).toContain(row.detX_val_unrescaled);
      expect(row.detX_num).toBeGreaterThan(0);
    }
  });

  it("randomize by default: one generator per layer (seed, layer_id, slice_id), so a layer's draws do not depend on the others (§15.44)", async () => {
    const both = await run(model, { randomize: true, seed: 7 });
    const alone = await run(model, { randomize: true, seed: 7, layers: ["b"] });
    expect(alone.layers[0]!.rand_evals).toEqual(both.layers[1]!.rand_evals);
    const other = await run(model, { randomize: true, seed: 8 });
    expect(other.layers[1]!.rand_evals).not.toEqual(both.layers[1]!.rand_evals);
    // weightwatcher's one stream continues across layers: layer b alone draws what layer a drew.
    const compatBoth = await run(model, { randomize: true, compat: "ww" });
    const compatAlone = await run(model, { randomize: true, compat: "ww", layers: ["b"] });
    expect(compatAlone.layers[0]!.rand_evals).not.toEqual(compatBoth.layers[1]!.rand_evals);
    // Shuffling keeps the entries: the randomized ESD has the same sum (‖W‖²_F) as the ESD.
    for (const row of both.layers) {
      const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
      expect(sum(row.rand_evals_distance!) / sum(row.evals!)).toBeCloseTo(1, 10);
      expect(row.rand_evals!.length).toBe(5 * row.num_evals);
      expect(row.rand_num_spikes).toBe(row.traps!.length);
    }
  });

  it.skipIf(!hasShared)("the planted trap of trap_500x300 is found in both modes; the Gaussian cases show none", async () => {
    for (const compat of ["default", "ww"] as const) {
      const trap = (await runCase("trap_500x300", { randomize: true, compat })).layers[0]!;
      expect(trap.rand_num_spikes, `${compat} trap`).toBe(3);
      expect(trap.traps!.length).toBe(3);
      expect(trap.traps![0]).toBe(trap.max_rand_eval);
      for (const value of trap.traps!) expect(value).toBeGreaterThan(5 * trap.rand_bulk_max!);
      for (const caseName of ["gaussian_100x200", "gaussian_300x300", "gaussian_1000x250"]) {
        const row = (await runCase(caseName, { randomize: true, compat })).layers[0]!;
        expect(row.rand_num_spikes, `${compat} ${caseName}`).toBe(0);
        expect(row.traps).toEqual([]);
      }
    }
  });

  it("mp_fit enters the summary as the mean mp_softrank", async () => {
    const report = await run(model, { mp_fit: true });
    const values = report.layers.map((r) => r.mp_softrank!);
    expect(report.summary.mp_softrank).toBeCloseTo((values[0]! + values[1]!) / 2, 15);
    expect((await run(model, {})).summary.mp_softrank).toBeUndefined();
  });

  it("channels 'first' reads a (kh, kw, in, out) kernel; 'last' and the default a PyTorch (out, in, kh, kw) one", async () => {
    const [out, inp, kh, kw] = [12, 8, 3, 2];
    const torch = gaussianData(out * inp * kh * kw, 6);
    const keras = new Float64Array(torch.length);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      keras[((a * kw + b) * inp + i) * out + o] = torch[((o * inp + i) * kh + a) * kw + b]!;
    }
    const reference = (await run([{ name: "c.weight", dtype: "F64", shape: [out, inp, kh, kw], data: torch }], {})).layers[0]!;
    const last = (await run([{ name: "c.weight", dtype: "F64", shape: [out, inp, kh, kw], data: torch }], { channels: "last" })).layers[0]!;
    const first = (await run([{ name: "c.weight", dtype: "F64", shape: [kh, kw, inp, out], data: keras }], { channels: "first" })).layers[0]!;
    expect(last.evals).toEqual(reference.evals);
    expect([first.N, first.M, first.rf, first.num_evals]).toEqual([12, 8, 6, 48]);
    first.evals!.forEach((v, k) => expect(Math.abs(v - reference.evals![k]!)).toBeLessThanOrEqual(1e-13 * reference.lambda_max));
  });

  it("start_ids: the first layer id (0 means 1); weightwatcher's file route starts at it as given", async () => {
    expect((await run(model, { start_ids: 5 })).layers.map((r) => r.layer_id)).toEqual([5, 6]);
    expect((await run(model, { start_ids: 0 })).layers.map((r) => r.layer_id)).toEqual([1, 2]);
    expect((await run(model, { start_ids: 1, compat: "ww" })).layers.map((r) => r.layer_id)).toEqual([1, 2]);
    expect((await run(model, { compat: "ww-file" })).layers.map((r) => r.layer_id)).toEqual([0, 1]);
  });

  it("randomize refuses, with a BudgetError, a matrix too large to shuffle in memory", async () => {
    const side = Math.ceil(Math.sqrt(RANDOMIZE_MAX_ELEMENTS)) + 1;
    let reads = 0;
    const layer = {
      tensor: { name: "huge.weight", shape: [side, side], read: async () => { reads++; return new Float64Array(0); } },
      float32: false,
    } as unknown as PlannedLayer;
    await expect(heldMatrices(layer)).rejects.toThrow(BudgetError);
    await expect(heldMatrices(layer)).rejects.toThrow(`huge.weight: randomize shuffles whole matrices in memory; ${side * side} elements exceed the ${RANDOMIZE_MAX_ELEMENTS}-element limit`);
    expect(reads).toBe(0);
  });

  it("Jensen-Shannon distance: 0 for equal vectors, symmetric, ln 2 at most", () => {
    const p = Float64Array.from([0, 1, 2, 3]);
    const q = Float64Array.from([3, 2, 1, 0]);
    expect(jensenShannonDistance(p, p)).toBe(0);
    expect(jensenShannonDistance(p, q)).toBeCloseTo(jensenShannonDistance(q, p), 15);
    expect(jensenShannonDistance(Float64Array.from([1, 0]), Float64Array.from([0, 1]))).toBeCloseTo(Math.sqrt(Math.LN2), 15);
  });
});

if (!hasShared) requireShared("option tests that need the oracle (rng vectors, trap case, goldens)");
