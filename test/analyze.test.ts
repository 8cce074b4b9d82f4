import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, analyzeLayer, planLayers, resolveOptions, sha256OfSource, type LayerOutcome } from "../core/analyze.js";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { openTensorIndex } from "../core/formats/open.js";
import { Sha256 } from "../core/formats/sha256.js";
import { UsageError } from "../core/errors.js";
import { SCHEMA_VERSION, type AnalyzeOptions, type LayerRecord, type Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { VERSION } from "../core/version.js";
import { gaussianData, writeSafetensors, type FixtureTensor } from "./fixtures.js";
import { expectRowMatches, oracleCases, readGolden } from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = (await testKernel()).kernel;
});

function f64(name: string, shape: number[], seed: number, scale = 0.1): FixtureTensor {
  return { name, dtype: "F64", shape, data: gaussianData(shape.reduce((a, b) => a * b, 1), seed, scale) };
}

async function run(tensors: FixtureTensor[], options: Partial<AnalyzeOptions>, name = "model.safetensors"): Promise<Report> {
  return analyze(bytesSource(writeSafetensors(tensors), name), options, { kernel, keepEvals: true, hashSource: false });
}

const row = (report: Report, name: string): LayerRecord => {
  const found = report.layers.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no row ${name} in ${report.layers.map((r) => r.name).join(", ")}`);
  return found;
};

/** 30 x 12, all zero but one entry: rank 1, one eigenvalue above 1e-5, so the fit fails. */
function rankOne(name: string): FixtureTensor {
  const data = new Float64Array(30 * 12);
  data[5] = 2;
  return { name, dtype: "F64", shape: [30, 12], data };
}

describe("default mode vs weightwatcher-compatible mode (docs/differences-from-weightwatcher.md)", () => {
  const failing = [f64("a.weight", [60, 24], 1), rankOne("b.weight")];

  it("§15.1: failed fits are left out of the alpha means by default, averaged as −1 in compat", async () => {
    const byDefault = await run(failing, {});
    const ww = await run(failing, { compat: "ww" });
    const alpha = row(byDefault, "a").alpha!;
    expect(row(ww, "a").alpha).toBe(alpha);
    expect(byDefault.summary).toMatchObject({ num_layers: 2, num_failed_fits: 1, alpha });
    expect(byDefault.summary.alpha_weighted).toBe(row(byDefault, "a").alpha_weighted);
    expect(ww.summary.alpha).toBe((alpha - 1) / 2);
    expect(ww.summary.log_alpha_norm).toBe(Infinity); // Σ 1/λ over the zero eigenvalues
  });

  it("§15.2: a failed fit warns 'fit-failed' by default, 'over-trained' in compat, with −1 sentinels", async () => {
    const b = row(await run(failing, {}), "b");
    expect([b.status, b.warning, b.alpha, b.D, b.xmin, b.num_pl_spikes]).toEqual(["failed", "fit-failed", null, null, null, null]);
    const bw = row(await run(failing, { compat: "ww" }), "b");
    expect([bw.status, bw.warning, bw.alpha, bw.D, bw.xmin, bw.num_pl_spikes]).toEqual(["failed", "over-trained", -1, -1, -1, -1]);
  });

  it("§15.11: the entropy of a rank-1 layer is 0 by default, ≈ (huge) in compat", async () => {
    const b = row(await run(failing, {}), "b");
    expect(b.matrix_rank).toBe(1);
    expect(b.rank_loss).toBe(11);
    expect(b.entropy).toBe(0);
    const bw = row(await run(failing, { compat: "ww" }), "b");
    const expected = -(11 * 1e-10 * Math.log(1e-10) + (1 + 1e-10) * Math.log(1 + 1e-10)) / Math.log(1 + 1e-10);
    expect(Math.abs(bw.entropy - expected) / expected).toBeLessThan(1e-6);
  });

  const evenConv: FixtureTensor = { ...f64("k.weight", [8, 32, 2, 2], 4), dtype: "F32" };

  it("§15.8: conv2d with an even kernel and out < in reports N ≥ M by default, swapped in compat", async () => {
    const k = row(await run([evenConv], {}), "k");
    expect([k.N, k.M, k.Q, k.rf, k.num_evals]).toEqual([32, 8, 4, 4, 32]);
    const kw = row(await run([evenConv], { compat: "ww" }), "k");
    expect([kw.N, kw.M, kw.Q, kw.rf, kw.num_evals]).toEqual([8, 32, 0.25, 4, 32]);
    expect(kw.alpha).toBe(k.alpha);
  });

  it("§15.9: conv2d sv_min is the smallest σ of all slices by default, the largest slice minimum in compat", async () => {
    const k = row(await run([evenConv], {}), "k");
    const kw = row(await run([evenConv], { compat: "ww" }), "k");
    expect(k.sv_min).toBe(Math.sqrt(k.evals![0]!));
    expect(kw.sv_min).toBeGreaterThan(k.sv_min * 1.01);
    expect(kw.evals!.some((v) => Math.abs(Math.sqrt(v) - kw.sv_min) < 1e-15 * kw.sv_max)).toBe(true);
  });

  it("§15.39: a 2-D tensor named like an embedding is typed embedding by default, dense in compat", async () => {
    const tensors = [f64("model.embed_tokens.weight", [64, 16], 5)];
    const e = row(await run(tensors, {}), "model.embed_tokens");
    expect([e.layer_type, e.type_rule]).toEqual(["embedding", "name"]);
    const ew = row(await run(tensors, { compat: "ww" }), "model.embed_tokens");
    expect([ew.layer_type, ew.type_rule]).toEqual(["dense", "rank"]);
    expect(ew.alpha).toBe(e.alpha);
  });

  it("§15.38/§15.40: file order with ids from 1 by default; sorted names in compat, ids from 0 on the file route", async () => {
    const tensors = [f64("z.weight", [40, 20], 6), f64("z.bias", [40], 7), f64("a.weight", [40, 20], 8)];
    const ids = (report: Report): Array<[number, string]> => report.layers.map((r) => [r.layer_id, r.name]);
    expect(ids(await run(tensors, {}))).toEqual([[1, "z"], [2, "a"]]);
    expect(ids(await run(tensors, { compat: "ww" }))).toEqual([[1, "a"], [2, "z"]]);
    expect(ids(await run(tensors, { compat: "ww-file" }))).toEqual([[0, "a"], [1, "z"]]);
  });

  it("§15.17: conv1d (3-D) tensors are skipped with a reason in compat mode, analyzed per tap by default", async () => {
    const tensors = [f64("c1.weight", [16, 8, 5], 9), f64("d.weight", [40, 20], 10)];
    const ww = await run(tensors, { compat: "ww" });
    expect(ww.layers.map((r) => r.name)).toEqual(["d"]);
    expect(ww.skipped).toEqual([{ name: "c1.weight", reason: "3-D tensor [16,8,5]: conv1d is not analyzed" }]);
    const corrected = await run(tensors, {});
    expect(corrected.layers.map((r) => [r.name, r.layer_type, r.N, r.M, r.rf, r.num_evals])).toEqual([
      ["c1", "conv1d", 16, 8, 5, 40], ["d", "dense", 40, 20, 1, 20],
    ]);
    expect(corrected.skipped).toEqual([]);
  });

  it("§15.16: a layer with NaN or Inf weights is skipped with its reason; the other layers are reported", async () => {
    const bad = f64("bad.weight", [40, 20], 11);
    (bad.data as Float64Array)[123] = NaN;
    const inf = { ...f64("inf.weight", [32, 16, 3, 3], 12), dtype: "F32" as const };
    (inf.data as Float64Array)[7] = Infinity;
    for (const compat of ["default", "ww"] as const) {
      const report = await run([f64("good.weight", [40, 20], 13), bad, inf], { compat, pool: false });
      expect(report.layers.map((r) => r.name)).toEqual(["good"]);
      expect(report.skipped).toEqual([
        { name: "bad.weight", reason: "tensor contains NaN (element 123); the layer is not analyzed" },
        { name: "inf.weight", reason: "tensor contains +Inf (element 7); the layer is not analyzed" },
      ]);
      expect(report.summary.num_layers).toBe(1);
    }
  });

  it("§15.34: max_N below max_evals is refused in compat only; each option is named", () => {
    expect(resolveOptions({ max_N: 100, max_evals: 200 }).max_N).toBe(100);
    expect(() => resolveOptions({ max_N: 100, max_evals: 200, compat: "ww" })).toThrow(/^option max_N: 100 is below max_evals 200/);
    expect(() => resolveOptions({ min_evals: -1 })).toThrow(new UsageError("option min_evals: -1 is negative (0 disables the bound)"));
    expect(() => resolveOptions({ min_evals: 50, max_evals: 50, compat: "ww" })).toThrow(/^option min_evals: 50 is not below max_evals 50/);
    expect(resolveOptions({ min_evals: 50, max_evals: 50 }).min_evals).toBe(50);
    expect(() => resolveOptions({ xmax: 0 })).toThrow(/^option xmax: 0 is not null, "force" or a non-zero integer/);
    expect(() => resolveOptions({ xmax: 2.5 })).toThrow(UsageError);
    expect(() => resolveOptions({ tolerance: -1 })).toThrow(/^option tolerance/);
    expect(() => resolveOptions({ compat: "pandas" as never })).toThrow(/^option compat/);
    expect(() => resolveOptions({ pool: "no" as never })).toThrow(/^option pool/);
    expect(() => resolveOptions({ layers: [1.5] })).toThrow(/^option layers/);
    expect(() => resolveOptions({ layers: "fc1" as never })).toThrow(/^option layers: "fc1" is not a list/);
    expect(() => resolveOptions({ layers: [1, -2], compat: "ww" })).toThrow(/^option layers: positive and negative ids mixed/);
    expect(resolveOptions({ layers: [1, -2] }).layers).toEqual([1, -2]);
    expect(() => resolveOptions({ fitt: "TPL" } as never)).toThrow(/^unknown option "fitt"/);
  });

  describe.skipIf(!hasShared)("the oracle cases give weightwatcher's numbers in the default mode too", () => {
    const columns = ["alpha", "D", "sigma", "xmin", "xmax", "num_pl_spikes", "lambda_max", "norm", "log_norm",
      "log_spectral_norm", "alpha_weighted", "log_alpha_norm", "stable_rank", "matrix_rank", "rank_loss",
      "weak_rank_loss", "entropy", "num_evals", "status", "warning", "N", "M", "rf", "name"];
    for (const caseName of hasShared ? oracleCases() : []) {
      it(caseName, async () => {
        const golden = readGolden(caseName, "default");
        const bytes = new Uint8Array(readFileSync(sharedPath("oracle", "cases", `${caseName}.safetensors`)));
        const report = await analyze(bytesSource(bytes, caseName), {}, { kernel, hashSource: false });
        // conv1d layers are a default-mode extension (weightwatcher skips them, §15.17).
        expect(report.layers.filter((r) => r.layer_type !== "conv1d").map((r) => r.name).sort()).toEqual(golden.details.map((g) => g.name as string).sort());
        for (const g of golden.details) {
          const r = row(report, g.name as string);
          // conv2d sv_min differs by design (§15.9); the rest is weightwatcher's.
          expectRowMatches(r, g, `${caseName} default mode ${String(g.name)}`, r.layer_type === "conv2d" ? columns : [...columns, "sv_min"]);
        }
      });
    }
  });
});

describe("the Report", () => {
  const tensors = [f64("fc1.weight", [50, 20], 21), f64("fc1.bias", [50], 22), f64("fc2.weight", [10, 50], 23)];
  const bytes = writeSafetensors(tensors, { epoch: "3" });

  it("carries schema, tool version, resolved options, source identity and sha256, skips and timings", async () => {
    let clock = 0;
    const progress: Array<[number, number, string]> = [];
    const report = await analyze(bytesSource(bytes, "mlp.safetensors"), { min_evals: 5 }, {
      kernel, now: () => (clock += 1), onProgress: (done, total, name) => progress.push([done, total, name]),
    });
    expect(report.schemaVersion).toBe(SCHEMA_VERSION);
    expect(report.tool).toEqual({ name: "alphawatch", version: VERSION });
    expect(report.options).toEqual({ ...resolveOptions({}), min_evals: 5 });
    expect(report.source).toEqual({
      path: "mlp.safetensors", format: "safetensors", size: bytes.length, metadata: { epoch: "3" },
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    expect(report.layers.map((r) => [r.layer_id, r.name, r.N, r.M])).toEqual([[1, "fc1", 50, 20], [2, "fc2", 50, 10]]);
    expect(report.skipped).toEqual([{ name: "fc1.bias", reason: "bias of layer fc1: biases are not analyzed" }]);
    expect(progress).toEqual([[1, 2, "fc1"], [2, 2, "fc2"]]);
    expect(report.timings.total_ms).toBeGreaterThan(report.timings.read_ms);
    expect(report.timings.read_ms).toBeGreaterThan(0);
    expect(report.timings.eigen_ms).toBeGreaterThan(0);
    expect(report.layers[0]!.evals).toBeUndefined();
  });

  it("uses the source's etag instead of hashing when there is one", async () => {
    const source: ByteSource = { ...bytesSource(bytes, "r2://bucket/mlp.safetensors"), etag: "\"abc\"" };
    const report = await analyze(source, {}, { kernel });
    expect(report.source.etag).toBe("\"abc\"");
    expect(report.source.sha256).toBeUndefined();
  });

  it("runs planned layers through deps.runLayer when given (the CLI's worker pool), keeping plan order", async () => {
    const seen: string[] = [];
    const runLayer = async (layer: Parameters<typeof analyzeLayer>[1], options: AnalyzeOptions): Promise<LayerOutcome> => {
      seen.push(layer.name);
      await new Promise((resolve) => setTimeout(resolve, layer.name === "fc1" ? 20 : 0));
      return analyzeLayer(kernel, layer, options);
    };
    const report = await analyze(bytesSource(bytes, "mlp.safetensors"), {}, { kernel, runLayer, hashSource: false });
    expect(seen).toEqual(["fc1", "fc2"]);
    expect(report.layers.map((r) => r.name)).toEqual(["fc1", "fc2"]);
  });

  it("planLayers + analyzeLayer + summarize compose to analyze()", async () => {
    const index = await openTensorIndex(bytesSource(bytes, "mlp.safetensors"));
    const options = resolveOptions({ compat: "ww" });
    const plan = planLayers(index, options);
    const outcomes = [];
    for (const layer of plan.layers) outcomes.push(await analyzeLayer(kernel, layer, options));
    const report = await analyze(bytesSource(bytes, "mlp.safetensors"), options, { kernel, hashSource: false });
    expect(outcomes.map((o) => (o.kind === "record" ? o.record : null))).toEqual(report.layers);
  });
});

describe("incremental SHA-256", () => {
  it("agrees with node:crypto at block boundaries and across hashing chunks", async () => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 1000, (4 << 20) + 77]) {
      const data = new Uint8Array(length);
      for (let i = 0; i < length; i++) data[i] = (i * 31 + 7) & 0xff;
      const expected = createHash("sha256").update(data).digest("hex");
      expect(await sha256OfSource(bytesSource(data)), `length ${length}`).toBe(expected);
      const pieces = new Sha256();
      for (let i = 0; i < length; i += 17) pieces.update(data.subarray(i, i + 17));
      expect(pieces.hex()).toBe(expected);
    }
    expect(new Sha256().update(new TextEncoder().encode("abc")).hex()).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

if (!hasShared) requireShared("default-mode checks on the oracle cases");
