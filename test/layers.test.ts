import { describe, expect, it } from "vitest";
import { planLayers, type PlannedLayer } from "../core/layers/plan.js";
import { layerEigenvalues, NonFiniteWeightsError, WHOLE_READ_ELEMENTS } from "../core/layers/stream.js";
import { isEmbeddingName } from "../core/layers/embedding-names.js";
import { DEFAULT_OPTIONS, type AnalyzeOptions } from "../core/report.js";
import type { TensorIndex, TensorInfo } from "../core/formats/tensor.js";
import { BudgetError } from "../core/errors.js";
import { referenceKernel } from "./reference-kernel.js";
import { gaussianData } from "./fixtures.js";

function tensor(name: string, shape: number[], values?: Float64Array, role?: "embedding"): TensorInfo {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = values ?? gaussianData(count, name.length + count);
  const info: TensorInfo = {
    name, dtype: "F64", shape,
    read: async (start, n) => data.slice(start, start + n),
  };
  return role === undefined ? info : { ...info, role };
}

function index(tensors: TensorInfo[], skipped: { name: string; reason: string }[] = []): TensorIndex {
  return { format: "safetensors", tensors, metadata: {}, skipped };
}

function options(overrides: Partial<AnalyzeOptions> = {}): AnalyzeOptions {
  return { ...DEFAULT_OPTIONS, layers: [], ...overrides };
}

const model = index([
  tensor("z_head.weight", [10, 64]),
  tensor("z_head.bias", [10]),
  tensor("a_fc.weight", [64, 32]),
  tensor("a_fc.bias", [64]),
  tensor("m_norm.weight", [64]),
  tensor("c_conv.weight", [16, 8, 3, 3]),
  tensor("e_conv1d.weight", [16, 8, 5]),
  tensor("tok_embeddings.weight", [100, 16]),
  tensor("running_stat", [3]),
], [{ name: "q.weight", reason: "dtype F8_E4M3 is not supported for analysis" }]);

const summary = (layers: PlannedLayer[]): Array<[number, string, string]> => layers.map((l) => [l.layer_id, l.name, l.layer_type]);

describe("planLayers: order, ids and types (§2.2, §2.3)", () => {
  it("default mode: file order, ids from 1 over every *.weight key, embeddings typed by name", () => {
    const plan = planLayers(model, options());
    expect(summary(plan.layers)).toEqual([
      [1, "z_head", "dense"], [2, "a_fc", "dense"], [4, "c_conv", "conv2d"], [5, "e_conv1d", "conv1d"], [6, "tok_embeddings", "embedding"],
    ]);
    expect(plan.layers[4]!.type_rule).toBe("name");
  });

  it("ww mode: sorted names, ids from 1 counting skipped *.weight keys, 2-D embeddings are dense", () => {
    const plan = planLayers(model, options({ compat: "ww" }));
    expect(summary(plan.layers)).toEqual([
      [1, "a_fc", "dense"], [2, "c_conv", "conv2d"], [6, "tok_embeddings", "dense"], [7, "z_head", "dense"],
    ]);
  });

  it("ww-file mode: the same order with ids from 0", () => {
    expect(planLayers(model, options({ compat: "ww-file" })).layers.map((l) => l.layer_id)).toEqual([0, 1, 5, 6]);
  });

  it("reports every tensor that is not analyzed, with its reason", () => {
    const plan = planLayers(model, options());
    expect(plan.skipped).toEqual([
      { name: "z_head.bias", reason: "bias of layer z_head: biases are not analyzed" },
      { name: "a_fc.bias", reason: "bias of layer a_fc: biases are not analyzed" },
      { name: "running_stat", reason: "not a layer weight: only *.weight tensors are layers" },
      { name: "m_norm.weight", reason: "1-D tensor (a norm or bias vector) is not a matrix" },
      { name: "q.weight", reason: "dtype F8_E4M3 is not supported for analysis" },
    ]);
    const accounted = new Set([...plan.layers.map((l) => l.tensor.name), ...plan.skipped.map((s) => s.name)]);
    expect(accounted.size).toBe(model.tensors.length + model.skipped.length);
  });

  it("the container's embedding role wins over the name rule; compat ignores both", () => {
    const idx = index([tensor("table.weight", [50, 16], undefined, "embedding")]);
    expect(planLayers(idx, options()).layers[0]).toMatchObject({ layer_type: "embedding", type_rule: "container" });
    expect(planLayers(idx, options({ compat: "ww" })).layers[0]).toMatchObject({ layer_type: "dense", type_rule: "rank" });
  });

  it("names that say embedding (§2.3) and names that do not", () => {
    for (const name of ["model.embed_tokens", "transformer.wte", "bert.embeddings.word_embeddings", "token_embd", "shared", "embeddings", "x.pos_embedding"]) {
      expect(isEmbeddingName(name), name).toBe(true);
    }
    for (const name of ["lm_head", "output", "d_emb", "encoder.layer.0.attention.self.query"]) {
      expect(isEmbeddingName(name), name).toBe(false);
    }
  });

  it("without *.weight keys every tensor is a candidate named by its key; a bare `weight` is one unnamed layer (§15.46)", () => {
    const plain = planLayers(index([tensor("W1", [20, 12]), tensor("b1", [20])]), options());
    expect(summary(plain.layers)).toEqual([[1, "W1", "dense"]]);
    expect(plain.skipped).toEqual([{ name: "b1", reason: "1-D tensor (a norm or bias vector) is not a matrix" }]);
    for (const compat of ["default", "ww"] as const) {
      const bare = planLayers(index([tensor("weight", [20, 12]), tensor("bias", [20])]), options({ compat }));
      expect(summary(bare.layers)).toEqual([[1, "", "dense"]]);
      expect(bare.skipped).toEqual([{ name: "bias", reason: "not a layer weight: only *.weight tensors are layers" }]);
    }
  });
});

describe("planLayers: size bounds and the layers filter (§2.4, §2.5)", () => {
  it("min_evals / max_evals on M·rf pooled, on M per slice; max_N on N; 0 disables", () => {
    const idx = index([tensor("small.weight", [40, 8]), tensor("conv.weight", [4, 2, 3, 3]), tensor("wide.weight", [70000, 12])]);
    const plan = planLayers(idx, options());
    expect(plan.layers.map((l) => l.name)).toEqual(["conv"]); // M·rf = 18
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      "M·rf = 8 eigenvalues, fewer than min_evals 10",
      "N = 70000, larger than max_N 50000",
    ]);
    expect(planLayers(idx, options({ pool: false })).skipped.find((s) => s.name === "conv.weight")?.reason)
      .toBe("M = 2 eigenvalues, fewer than min_evals 10");
    expect(planLayers(idx, options({ min_evals: 0, max_N: 0 })).layers.map((l) => l.name)).toEqual(["small", "conv", "wide"]);
    expect(planLayers(idx, options({ max_evals: 10 })).skipped.find((s) => s.name === "conv.weight")?.reason)
      .toBe("M·rf = 18 eigenvalues, more than max_evals 10");
  });

  it("default mode ANDs the filter kinds; weightwatcher's later kind overwrites (§15.13)", () => {
    const idx = index([tensor("a.weight", [30, 20]), tensor("b.weight", [32, 16, 3, 3]), tensor("c.weight", [30, 20])]);
    const kept = (layers: Array<string | number>, compat: AnalyzeOptions["compat"]): string[] =>
      planLayers(idx, options({ layers, compat })).layers.map((l) => l.name);
    expect(kept(["dense", 2], "default")).toEqual([]);
    expect(kept(["dense", 2], "ww")).toEqual(["b"]);
    expect(kept(["dense", "-c"], "default")).toEqual(["a"]);
    expect(kept(["dense", "-c"], "ww")).toEqual(["a", "b"]);
    expect(kept([-1, -3], "default")).toEqual(["b"]);
    expect(kept(["-conv2d"], "default")).toEqual(["a", "c"]);
    expect(kept(["a", "-c"], "ww")).toEqual(["a", "b", "c"]); // a mix is only logged by weightwatcher
    expect(planLayers(idx, options({ layers: ["c"] })).skipped[0]).toEqual({ name: "a.weight", reason: "layer 1 (a) excluded by the layers option" });
  });
});

describe("planLayers: conv2d (§2.6, §2.7)", () => {
  it("N/M for an even kernel with out < in: swapped in compat (§15.8), ordered by default", () => {
    const idx = index([tensor("k.weight", [8, 32, 2, 2])]);
    expect(planLayers(idx, options({ compat: "ww" })).layers[0]).toMatchObject({ N: 8, M: 32, rf: 4, rows: 32, cols: 8, num_evals: 32 });
    expect(planLayers(idx, options()).layers[0]).toMatchObject({ N: 32, M: 8, rf: 4, rows: 32, cols: 8 });
    // odd kernels come out right in both modes
    expect(planLayers(index([tensor("k.weight", [8, 32, 3, 3])]), options({ compat: "ww" })).layers[0]).toMatchObject({ N: 32, M: 8 });
  });

  it("out + in < kh + kw: weightwatcher reports N = out, M = in unordered", () => {
    const idx = index([tensor("k.weight", [3, 8, 7, 7])]);
    expect(planLayers(idx, options({ compat: "ww" })).layers[0]).toMatchObject({ N: 3, M: 8, cols: 3, num_evals: 3 * 49 });
    expect(planLayers(idx, options()).layers[0]).toMatchObject({ N: 8, M: 3 });
  });

  it("pool false: one row per slice with slice_id and scale √(rf/2); dense rows get slice_id 0", () => {
    const idx = index([tensor("c.weight", [32, 16, 3, 3]), tensor("d.weight", [40, 20])]);
    const plan = planLayers(idx, options({ pool: false }));
    expect(plan.layers.map((l) => [l.name, l.slice_id])).toEqual([...Array.from({ length: 9 }, (_, s) => ["c", s]), ["d", 0]]);
    expect(plan.layers[4]!.conv).toMatchObject({ slices: [4], scale: Math.sqrt(9 / 2) });
    expect(planLayers(idx, options()).layers[0]!.conv).toMatchObject({ slices: [0, 1, 2, 3, 4, 5, 6, 7, 8], scale: Math.SQRT1_2 });
    expect(planLayers(idx, options({ conv2d_norm: false })).layers[0]!.conv!.scale).toBeNull();
  });
});

/** Eigenvalues of WᵀW for an explicit row-major rows x cols matrix, via the reference kernel. */
function directEigenvalues(matrix: Float64Array, cols: number): Float64Array {
  const acc = referenceKernel().gram(cols);
  acc.addRows(matrix);
  return acc.eigvalsh();
}

function transpose(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

function expectClose(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(...expected);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(1e-12 * scale);
}

describe("streaming matrices into the kernel", () => {
  const kernel = referenceKernel();

  it("dense out >= in: row blocks; out < in: the transposed tensor", async () => {
    const values = gaussianData(30 * 12, 7);
    const tall = planLayers(index([tensor("t.weight", [30, 12], values)]), options()).layers[0]!;
    expectClose((await layerEigenvalues(kernel, tall)).evals[0]!, directEigenvalues(values, 12));
    const wide = planLayers(index([tensor("w.weight", [12, 30], values)]), options()).layers[0]!;
    expect(wide.orientation).toBe("columns");
    expectClose((await layerEigenvalues(kernel, wide)).evals[0]!, directEigenvalues(transpose(values, 12, 30), 12));
  });

  it("a large wide tensor is read in column panels of segments, not whole, and not element by element", async () => {
    const out = 12;
    const inp = Math.ceil(WHOLE_READ_ELEMENTS / out) + 1000;
    const values = gaussianData(out * inp, 11);
    const reads: number[] = [];
    const info: TensorInfo = { name: "big.weight", dtype: "F64", shape: [out, inp], read: async (s, n) => { reads.push(n); return values.slice(s, s + n); } };
    const layer = planLayers(index([info]), options({ max_N: 0 })).layers[0]!;
    const { evals } = await layerEigenvalues(kernel, layer);
    expect(Math.max(...reads)).toBeLessThan(out * inp);
    expect(Math.min(...reads.slice(0, -out))).toBeGreaterThanOrEqual(256);
    expectClose(evals[0]!, directEigenvalues(transpose(values, out, inp), out));
  });

  it("conv2d slices T[:, :, i, j], transposed when out < in, scaled by √½ (float32 in ww-file, §13)", async () => {
    const [o, c, kh, kw] = [4, 6, 2, 2];
    const values = gaussianData(o * c * kh * kw, 5);
    const planned = planLayers(index([tensor("k.weight", [o, c, kh, kw], values)]), options({ min_evals: 0 })).layers[0]!;
    const { evals } = await layerEigenvalues(kernel, planned);
    expect(evals).toHaveLength(4);
    for (let s = 0; s < 4; s++) {
      const slice = new Float64Array(c * o);
      for (let a = 0; a < o; a++) for (let b = 0; b < c; b++) slice[b * o + a] = values[(a * c + b) * 4 + s]! * Math.SQRT1_2;
      expectClose(evals[s]!, directEigenvalues(slice, o));
    }
    const file = planLayers(index([tensor("k.weight", [o, c, kh, kw], values)]), options({ min_evals: 0, compat: "ww-file" })).layers[0]!;
    const s32 = Math.fround(Math.SQRT1_2);
    const slice0 = new Float64Array(c * o);
    for (let a = 0; a < o; a++) for (let b = 0; b < c; b++) slice0[b * o + a] = Math.fround(Math.fround(values[(a * c + b) * 4]!) * s32);
    expectClose((await layerEigenvalues(kernel, file)).evals[0]!, directEigenvalues(slice0, o));
  });

  it("NaN or Inf in a block stops the layer with NonFiniteWeightsError", async () => {
    const values = gaussianData(20 * 10, 3);
    values[57] = NaN;
    const layer = planLayers(index([tensor("n.weight", [20, 10], values)]), options()).layers[0]!;
    await expect(layerEigenvalues(kernel, layer)).rejects.toThrow(new NonFiniteWeightsError("n.weight", 57, NaN).message);
    values[57] = -Infinity;
    await expect(layerEigenvalues(kernel, layer)).rejects.toThrow("tensor contains -Inf (element 57)");
  });

  it("refuses conv2d tensors too large to slice in memory", async () => {
    const info: TensorInfo = { name: "huge.weight", dtype: "F32", shape: [4096, 4096, 1, 1], read: async () => new Float64Array(0) };
    const layer = planLayers(index([info]), options()).layers[0]!;
    await expect(layerEigenvalues(kernel, layer)).rejects.toBeInstanceOf(BudgetError);
  });
});
