/**
 * The kernel's eigenvector path (GramAccumulator.eigh): residuals ‖Xv − λv‖, orthonormality,
 * agreement with the eigenvalue path, degenerate shapes (1 x 1, rank-deficient, X = 0, repeated
 * eigenvalues), and its memory statement (bytesNeeded with vectors).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import type { Eigh } from "../core/spectral/kernel.js";
import { eighOfMatrix, eigvalshOfMatrix, type WasmSpectralKernel } from "../core/spectral/wasm-kernel.js";
import { centeredRandom, randomMatrix } from "./seeded-random.js";

let kernel: WasmSpectralKernel;
beforeAll(async () => {
  kernel = await loadSpectralKernel();
});

/** X = WᵀW (m = cols) or W Wᵀ (m = rows), dense m x m. */
function gramOf(w: Float64Array, rows: number, cols: number, side: "rows" | "columns"): Float64Array {
  const m = side === "columns" ? cols : rows;
  const x = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      if (side === "columns") for (let r = 0; r < rows; r++) s += w[r * cols + i]! * w[r * cols + j]!;
      else for (let c = 0; c < cols; c++) s += w[i * cols + c]! * w[j * cols + c]!;
      x[i * m + j] = s;
      x[j * m + i] = s;
    }
  }
  return x;
}

/** max_i ‖X v_i − λ_i v_i‖ / λ_max and max |V Vᵀ − I|. */
function quality(x: Float64Array, { values, vectors }: Eigh): { residual: number; orthogonality: number } {
  const m = values.length;
  const lambdaMax = Math.max(...values.map(Math.abs), Number.MIN_VALUE);
  let residual = 0;
  let orthogonality = 0;
  for (let i = 0; i < m; i++) {
    const v = vectors.subarray(i * m, (i + 1) * m);
    let norm2 = 0;
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += x[r * m + c]! * v[c]!;
      norm2 += (s - values[i]! * v[r]!) ** 2;
    }
    residual = Math.max(residual, Math.sqrt(norm2) / lambdaMax);
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let c = 0; c < m; c++) dot += v[c]! * vectors[j * m + c]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return { residual, orthogonality };
}

describe("eigenvector path (eigh)", () => {
  const shapes: [number, number][] = [[1, 1], [3, 1], [2, 2], [3, 2], [9, 4], [17, 13], [40, 33], [65, 67], [100, 70], [150, 131], [300, 257]];
  it.each(shapes)("%i x %i: residual and orthonormality below 1e-13, eigenvalues as eigvalsh", (rows, cols) => {
    const w = randomMatrix(rows, cols, rows * 7919 + cols);
    const side = rows >= cols ? "columns" : "rows";
    const result = eighOfMatrix(kernel, w, rows, cols, side);
    const m = Math.min(rows, cols);
    expect(result.values.length).toBe(m);
    expect(result.vectors.length).toBe(m * m);
    for (let i = 1; i < m; i++) expect(result.values[i]!).toBeGreaterThanOrEqual(result.values[i - 1]!);
    const { residual, orthogonality } = quality(gramOf(w, rows, cols, side), result);
    expect(residual).toBeLessThan(1e-13);
    expect(orthogonality).toBeLessThan(1e-13);
    const evals = eigvalshOfMatrix(kernel, w, rows, cols);
    const lambdaMax = evals[m - 1]!;
    for (let i = 0; i < m; i++) expect(Math.abs(result.values[i]! - evals[i]!)).toBeLessThanOrEqual(1e-13 * lambdaMax);
  });

  it("a square matrix on both sides: W Wᵀ and WᵀW share eigenvalues, not eigenvectors", () => {
    const n = 30;
    const w = randomMatrix(n, n, 5);
    const left = eighOfMatrix(kernel, w, n, n, "rows");
    const right = eighOfMatrix(kernel, w, n, n, "columns");
    for (let i = 0; i < n; i++) expect(Math.abs(left.values[i]! - right.values[i]!)).toBeLessThan(1e-13 * left.values[n - 1]!);
    // W v_right = σ u_left: |u·(W v)| = σ for the top pair
    const u = left.vectors.subarray((n - 1) * n), v = right.vectors.subarray((n - 1) * n);
    let dot = 0;
    for (let r = 0; r < n; r++) {
      let wv = 0;
      for (let c = 0; c < n; c++) wv += w[r * n + c]! * v[c]!;
      dot += u[r]! * wv;
    }
    expect(Math.abs(Math.abs(dot) - Math.sqrt(left.values[n - 1]!))).toBeLessThan(1e-12);
    expect(quality(gramOf(w, n, n, "rows"), left).residual).toBeLessThan(1e-13);
  });

  it("rank-deficient 120 x 80 of rank 10: 70 zero eigenvalues, an orthonormal null-space basis", () => {
    const rows = 120, cols = 80, rank = 10;
    const a = randomMatrix(rows, rank, 11), b = randomMatrix(rank, cols, 12);
    const w = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let k = 0; k < rank; k++) for (let j = 0; j < cols; j++) w[i * cols + j] = w[i * cols + j]! + a[i * rank + k]! * b[k * cols + j]!;
    const result = eighOfMatrix(kernel, w, rows, cols, "columns");
    const lambdaMax = result.values[cols - 1]!;
    for (let i = 0; i < cols - rank; i++) expect(Math.abs(result.values[i]!)).toBeLessThan(1e-13 * lambdaMax);
    const { residual, orthogonality } = quality(gramOf(w, rows, cols, "columns"), result);
    expect(residual).toBeLessThan(1e-13);
    expect(orthogonality).toBeLessThan(1e-13);
  });

  it("repeated eigenvalues: orthogonal columns of equal norm give X = 4I and an orthonormal basis", () => {
    // W = 2·(first 6 columns of a 6 x 6 orthogonal matrix, rotated) → WᵀW = 4I
    const n = 6;
    const w = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) w[i * n + j] = 2 * Math.sqrt(2 / (n + 1)) * Math.sin(((i + 1) * (j + 1) * Math.PI) / (n + 1));
    }
    const result = eighOfMatrix(kernel, w, n, n, "columns");
    for (const value of result.values) expect(Math.abs(value - 4)).toBeLessThan(1e-14 * 4);
    expect(quality(gramOf(w, n, n, "columns"), result).orthogonality).toBeLessThan(1e-13);
  });

  it("X = 0 gives zero eigenvalues and the identity", () => {
    const result = eighOfMatrix(kernel, new Float64Array(5 * 3), 5, 3, "columns");
    expect(Array.from(result.values)).toEqual([0, 0, 0]);
    expect(Array.from(result.vectors)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it("NaN in W is refused with the eigenvalue path's error", () => {
    const w = randomMatrix(5, 3, 1);
    w[4] = NaN;
    expect(() => eighOfMatrix(kernel, w, 5, 3, "columns")).toThrow(/NaN or infinite/);
  });

  it("bytesNeeded with vectors adds the m x m doubles and is what a run grows to", async () => {
    const fresh = await loadSpectralKernel();
    const m = 700, block = 256;
    const plain = fresh.bytesNeeded(m, block);
    const withVectors = fresh.bytesNeeded(m, block, true);
    expect(withVectors - plain).toBeGreaterThanOrEqual(m * m * 8);
    expect(withVectors - plain).toBeLessThan(m * m * 8 + 65536 + 64);
    const accumulator = fresh.gram(m);
    const next = centeredRandom(3);
    for (let first = 0; first < 1000; first += block) {
      accumulator.addRows(Float64Array.from({ length: Math.min(block, 1000 - first) * m }, next));
    }
    const { values } = accumulator.eigh!();
    expect(values.length).toBe(m);
    expect(fresh.memoryBytes()).toBe(withVectors);
  });
});
