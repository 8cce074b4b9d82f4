/**
 * distances(A, B): hand-built matrices with known answers (a row permutation keeps the right
 * singular subspace and the spectrum; disjoint coordinate subspaces overlap 0; 2W is ‖W‖ away),
 * pairing by name, shape mismatches, the real checkpoints of ../shared/models/series, and the CLI.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { distances, topSubspaceOverlap } from "../core/distances.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { fileSource } from "../cli/file-source.js";
import { main, type Io } from "../cli/main.js";
import { gaussianData, writeSafetensors, type FixtureTensor } from "./fixtures.js";
import { requireShared, sharedPath } from "./shared.js";

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = await loadSpectralKernel();
});

const ROWS = 40, COLS = 20;

function model(name: string, tensors: Array<Omit<FixtureTensor, "dtype">>) {
  return bytesSource(writeSafetensors(tensors.map((t) => ({ ...t, dtype: "F64" }))), name);
}

function permuteRows(w: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(w.length);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * cols, (r + 1) * cols), ((r * 7 + 3) % rows) * cols);
  return out;
}

describe("distances on hand-built matrices", () => {
  const w = gaussianData(ROWS * COLS, 1, 1 / Math.sqrt(ROWS));
  const permuted = permuteRows(w, ROWS, COLS);

  it("W vs W with rows permuted: the distance by hand, same spectrum, same right singular subspace", async () => {
    let expected = 0;
    for (let i = 0; i < w.length; i++) expected += (w[i]! - permuted[i]!) ** 2;
    expected = Math.sqrt(expected);
    const report = await distances(
      model("a.safetensors", [{ name: "fc.weight", shape: [ROWS, COLS], data: w }]),
      model("b.safetensors", [{ name: "fc.weight", shape: [ROWS, COLS], data: permuted }]),
      {},
      { kernel },
    );
    expect(report.schemaVersion).toBe(1);
    expect(report.method.k).toBe(10);
    expect(report.method.overlap).toMatch(/\|\|V_a\^T V_b\|\|_F\^2 \/ k/);
    expect(report.layers).toHaveLength(1);
    const layer = report.layers[0]!;
    expect(layer.name).toBe("fc");
    expect(layer.match).toBe("name");
    expect(Math.abs(layer.frobenius! - expected)).toBeLessThan(1e-14 * expected);
    expect(Math.abs(layer.delta_spectral_norm)).toBeLessThan(1e-13 * layer.spectral_norm_a);
    expect(Math.abs(layer.delta_alpha!)).toBeLessThan(1e-9 * Math.abs(layer.alpha_a!));
    expect(layer.k).toBe(10);
    expect(Math.abs(layer.overlap! - 1)).toBeLessThan(1e-12);
  });

  it("disjoint top subspaces overlap 0; 2W is ‖W‖_F away with relative distance 1", async () => {
    const a = new Float64Array(ROWS * COLS), b = new Float64Array(ROWS * COLS);
    let expected = 0;
    for (let i = 0; i < COLS; i++) {
      a[i * COLS + i] = COLS - i; // top 10 eigenvectors of AᵀA: e_0..e_9
      b[i * COLS + i] = i + 1; // of BᵀB: e_10..e_19
      expected += (COLS - i - (i + 1)) ** 2;
    }
    const report = await distances(
      model("a.safetensors", [{ name: "x.weight", shape: [ROWS, COLS], data: a }, { name: "y.weight", shape: [ROWS, COLS], data: w }]),
      model("b.safetensors", [{ name: "x.weight", shape: [ROWS, COLS], data: b }, { name: "y.weight", shape: [ROWS, COLS], data: w.map((v) => 2 * v) }]),
      { k: 10 },
      { kernel },
    );
    const [x, y] = report.layers;
    expect(x!.frobenius).toBeCloseTo(Math.sqrt(expected), 12);
    expect(x!.overlap!).toBeLessThan(1e-24);
    expect(y!.frobenius_relative).toBeCloseTo(1, 14);
    expect(y!.spectral_norm_b / y!.spectral_norm_a).toBeCloseTo(4, 12);
    expect(y!.overlap).toBeCloseTo(1, 12);
    expect(report.summary.num_layers).toBe(2);
    expect(report.summary.mean_overlap).toBeCloseTo(0.5, 12);
  });

  it("pairs by name, not position; lists unpaired layers; refuses to compare different shapes", async () => {
    const other = gaussianData(ROWS * 30, 2, 0.1);
    const report = await distances(
      model("a.safetensors", [{ name: "first.weight", shape: [ROWS, COLS], data: w }, { name: "second.weight", shape: [ROWS, COLS], data: w }, { name: "gone.weight", shape: [ROWS, COLS], data: w }]),
      model("b.safetensors", [
        { name: "second.weight", shape: [ROWS, 30], data: other },
        { name: "first.weight", shape: [ROWS, COLS], data: w },
        { name: "new.weight", shape: [ROWS, COLS], data: permuted },
        { name: "extra.weight", shape: [ROWS, COLS], data: gaussianData(ROWS * COLS, 3) },
      ]),
      {},
      { kernel },
    );
    const byName = new Map(report.layers.map((l) => [l.name, l]));
    expect(byName.get("first")!.frobenius).toBe(0);
    expect(byName.get("first")!.overlap).toBeCloseTo(1, 12);
    expect(byName.get("second")!.frobenius).toBeNull();
    expect(byName.get("second")!.overlap).toBeNull();
    expect(byName.get("second")!.notes![0]).toBe("weight shapes differ (40x20 vs 40x30): no frobenius distance or overlap");
    // "new" holds gone's rows permuted: the same spectrum and norm, so the matching pairs it as a rename
    expect(byName.get("new")!.name_a).toBe("gone");
    expect(byName.get("new")!.match).toBe("renamed");
    expect(byName.get("new")!.overlap).toBeCloseTo(1, 12);
    expect(report.only_in_a).toEqual([]);
    expect(report.only_in_b).toEqual(["extra"]);
  });

  it("topSubspaceOverlap: the mean squared cosine of the principal angles", () => {
    // 2-dimensional space, k = 1: unit vectors at 60° → cos² = 1/4
    const a = Float64Array.from([0, 1, 1, 0]); // rows: e1 (λ small), e0 (λ large)
    const b = Float64Array.from([0, 1, 0.5, Math.sqrt(3) / 2]);
    expect(topSubspaceOverlap(a, b, 2, 1)).toBeCloseTo(0.25, 15);
    expect(topSubspaceOverlap(a, b, 2, 2)).toBeCloseTo(1, 15);
  });
});

describe.skipIf(!requireShared("distances on the series checkpoints"))("distances on real checkpoints", () => {
  const series = (file: string) => sharedPath("models", "series", file);

  it("a checkpoint against itself: distance 0, overlap 1; epoch 0 vs epoch 100: finite, overlap < 1 where k < M", async () => {
    const ep100 = await fileSource(series("mlp_epochs/run_ep0100.safetensors"));
    const ep0 = await fileSource(series("mlp_epochs/run_ep0000.safetensors"));
    const self = await distances(ep100, ep100, {}, { kernel });
    expect(self.layers.map((l) => l.name)).toEqual(["fc1", "fc2", "fc3"]);
    for (const l of self.layers) {
      expect(l.frobenius).toBe(0);
      expect(l.delta_alpha).toBe(0);
      expect(Math.abs(l.overlap! - 1)).toBeLessThan(1e-12);
    }
    const trained = await distances(ep0, ep100, {}, { kernel });
    expect(trained.layers).toHaveLength(3);
    for (const l of trained.layers) {
      expect(Number.isFinite(l.frobenius!) && l.frobenius! > 0).toBe(true);
      expect(l.overlap!).toBeGreaterThanOrEqual(0);
      expect(l.overlap!).toBeLessThanOrEqual(1 + 1e-12);
    }
    // the output layer fc3 (10 x 100) has M = 10: its whole row space is the top-10 subspace
    const fc3 = trained.layers.find((l) => l.name === "fc3")!;
    expect(fc3.k).toBe(10);
    expect(fc3.overlap).toBeCloseTo(1, 10);
    for (const name of ["fc1", "fc2"]) expect(trained.layers.find((l) => l.name === name)!.overlap!).toBeLessThan(0.99);
  });

  it("the same MLP as safetensors and GGUF: distance 0, overlap 1", async () => {
    const report = await distances(await fileSource(series("formats/mlp.safetensors")), await fileSource(series("formats/mlp.gguf")), {}, { kernel });
    expect(report.layers.length).toBe(3);
    expect(report.only_in_a).toEqual([]);
    expect(report.only_in_b).toEqual([]);
    for (const l of report.layers) {
      expect(l.frobenius).toBe(0);
      expect(Math.abs(l.overlap! - 1)).toBeLessThan(1e-12);
    }
  });

  it("alphawatch distances A B --format json", async () => {
    let out = "";
    let err = "";
    const io: Io = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, interactive: false };
    const code = await main(["distances", series("mlp_epochs/run_ep0000.safetensors"), series("mlp_epochs/run_ep0100.safetensors"), "--format", "json", "-k", "5"], io);
    expect(err).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(out) as { schemaVersion: number; method: { k: number }; layers: Array<{ name: string; k: number; overlap: number }> };
    expect(report.schemaVersion).toBe(1);
    expect(report.method.k).toBe(5);
    expect(report.layers.map((l) => [l.name, l.k])).toEqual([["fc1", 5], ["fc2", 5], ["fc3", 5]]);
    let table = "";
    await main(["distances", series("mlp_epochs/run_ep0000.safetensors"), series("mlp_epochs/run_ep0100.safetensors")], { ...io, stdout: (t) => { table += t; } });
    expect(table).toMatch(/^.*run_ep0000\.safetensors \(safetensors\) vs .*run_ep0100\.safetensors \(safetensors\): 3 paired layers\n/);
    expect(table).toContain("overlap (k)");
  });
});
