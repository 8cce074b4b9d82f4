/**
 * The vectors metrics on vectors with known answers, the bulk/tail split by position, and the
 * option through analyze() (columns present, a failed fit puts every vector in the tail).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { localizationRatio, participationRatio, vectorColumns, vectorEntropy, type LayerVectorMetrics } from "../core/metrics/vectors.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { gaussianData, writeSafetensors } from "./fixtures.js";

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = await loadSpectralKernel();
});

describe("eigenvector metrics", () => {
  it("a basis vector is fully localized: loc_ratio 1, part_ratio 1", () => {
    expect(localizationRatio([0, -1, 0, 0])).toBe(1);
    expect(participationRatio([0, -1, 0, 0])).toBe(1);
  });

  it("a flat unit vector of length 16: loc_ratio 16, part_ratio 16^(1/4) = 2", () => {
    const v = new Array(16).fill(0.25).map((x, i) => (i % 2 ? -x : x));
    expect(localizationRatio(v)).toBeCloseTo(16, 13);
    expect(participationRatio(v)).toBeCloseTo(2, 13);
  });

  it("vec_entropy of a flat vector: one bin of density 100 (range widened to ±0.5), 99 empty", () => {
    // densities: 100 in the middle bin (width 0.01), 0 elsewhere; each + 1e-10, normalized
    const total = 100 + 100e-10;
    const full = (100 + 1e-10) / total;
    const empty = 1e-10 / total;
    const expected = -(full * Math.log(full) + 99 * empty * Math.log(empty));
    // ≈ 99·1e-12·ln(1e12): the empty bins' share
    expect(Math.abs(vectorEntropy(new Array(9).fill(1 / 3)) - expected)).toBeLessThan(1e-6 * expected);
    expect(Math.abs(expected - 2.8345e-9)).toBeLessThan(1e-13);
  });

  it("vec_entropy of a two-valued vector: two bins (first and last) of equal mass", () => {
    // |v| takes two values: a has its min in bin 0 and its max in bin 99 (the last bin is closed)
    const v = [0.6, 0.8, 0, 0];
    const a = 2; // two entries per extreme
    const width = (0.8 - 0) / 100;
    const density = a / width / 4;
    const p = new Array(100).fill(1e-10);
    p[0] += density;
    p[99] += density;
    const sum = p.reduce((s, x) => s + x, 0);
    // 0.6 and 0.8 are not both at the top: min 0 (two zeros), 0.6 in bin 75, 0.8 in bin 99
    const q = new Array(100).fill(1e-10);
    q[0] += 2 / width / 4;
    q[75] += 1 / width / 4;
    q[99] += 1 / width / 4;
    const qs = q.reduce((s, x) => s + x, 0);
    const expected = -q.reduce((s, x) => s + (x / qs) * Math.log(x / qs), 0);
    expect(vectorEntropy(v)).toBeCloseTo(expected, 12);
    expect(sum).toBeGreaterThan(0);
    // ≈ the entropy of (1/2, 1/4, 1/4) = 1.5 ln 2
    expect(vectorEntropy(v)).toBeCloseTo(1.5 * Math.LN2, 7);
  });
});

describe("bulk / tail split by position", () => {
  const layer: LayerVectorMetrics = {
    evals: Float64Array.from([0.1, 0.2, 0.3, 1, 2]),
    metrics: [1, 2, 3, 10, 20].map((x) => ({ vec_entropy: x, loc_ratio: 2 * x, part_ratio: x + 1 })),
  };

  it("tail = the top num_pl_spikes vectors: means and population variances", () => {
    const columns = vectorColumns(layer, 2);
    expect(columns.tail_mean_vec_entropy).toBe(15);
    expect(columns.tail_var_vec_entropy).toBe(25);
    expect(columns.tail_mean_loc_ratio).toBe(30);
    expect(columns.tail_var_loc_ratio).toBe(100);
    expect(columns.bulk_mean_vec_entropy).toBe(2);
    expect(columns.bulk_var_vec_entropy).toBeCloseTo(2 / 3, 15);
    expect(columns.bulk_mean_part_ratio).toBe(3);
    expect(columns.bulk_var_part_ratio).toBeCloseTo(2 / 3, 15);
  });

  it("a failed fit (null) puts every vector in the tail; the bulk columns are null", () => {
    const columns = vectorColumns(layer, null);
    expect(columns.tail_mean_vec_entropy).toBe(7.2);
    expect(columns.bulk_mean_vec_entropy).toBeNull();
    expect(columns.bulk_var_loc_ratio).toBeNull();
  });

  it("an empty tail gives null tail columns", () => {
    const columns = vectorColumns(layer, 0);
    expect(columns.tail_mean_part_ratio).toBeNull();
    expect(columns.bulk_mean_vec_entropy).toBe(7.2);
  });
});

describe("analyze with vectors", () => {
  it("adds the twelve columns; without the option they are absent", async () => {
    const rows = 60, cols = 30;
    const data = gaussianData(rows * cols, 7, 1 / Math.sqrt(rows));
    const bytes = writeSafetensors([{ name: "fc.weight", dtype: "F64", shape: [rows, cols], data }]);
    const source = bytesSource(bytes, "fc.safetensors");
    const report = await analyze(source, { vectors: true }, { kernel, hashSource: false });
    const row = report.layers[0]!;
    expect(row.status).toBe("success");
    for (const key of ["bulk_mean_vec_entropy", "bulk_var_loc_ratio", "tail_mean_part_ratio", "tail_var_vec_entropy"] as const) {
      expect(typeof row[key], key).toBe("number");
    }
    // part_ratio of a unit vector of length 30 lies in [1, 30^(1/4)]
    expect(row.tail_mean_part_ratio!).toBeGreaterThanOrEqual(1);
    expect(row.tail_mean_part_ratio!).toBeLessThanOrEqual(30 ** 0.25);
    // the report's split is the top num_pl_spikes: tail means over exactly that many vectors
    expect(row.num_pl_spikes).toBeGreaterThan(1);
    const plain = await analyze(source, {}, { kernel, hashSource: false });
    expect(plain.layers[0]!.tail_mean_vec_entropy).toBeUndefined();
    expect(plain.layers[0]!.alpha).toBe(row.alpha);
  });

  it("a failed fit (one nonzero weight) puts every vector in the tail: bulk columns null", async () => {
    const rows = 30, cols = 20;
    const data = new Float64Array(rows * cols);
    data[7] = 3;
    const bytes = writeSafetensors([{ name: "fc.weight", dtype: "F64", shape: [rows, cols], data }]);
    const report = await analyze(bytesSource(bytes, "rank1.safetensors"), { vectors: true }, { kernel, hashSource: false });
    const row = report.layers[0]!;
    expect(row.status).toBe("failed");
    expect(row.bulk_mean_loc_ratio).toBeNull();
    expect(row.bulk_var_part_ratio).toBeNull();
    // X = 9·e_7 e_7ᵀ: e_7 (loc 1, part 1) and 19 unit vectors of its orthogonal complement, each with loc >= 1
    expect(row.tail_mean_loc_ratio!).toBeGreaterThanOrEqual(1);
    expect(row.tail_mean_part_ratio!).toBeGreaterThanOrEqual(1);
    expect(Number.isFinite(row.tail_var_vec_entropy!)).toBe(true);
  });
});
