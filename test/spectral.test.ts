/**
 * Accuracy of the WebAssembly eigenvalue kernel: against weightwatcher's golden eigenvalues on
 * every oracle case (every eigenvalue within 1e-13·λmax), and against ml-matrix on small random
 * matrices including the degenerate shapes.
 */
import { readFileSync, readdirSync } from "node:fs";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { eigvalshOfMatrix } from "../core/spectral/wasm-kernel.js";
import { randomMatrix } from "./seeded-random.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const TOLERANCE = 1e-13;

let kernel: SpectralKernel;
beforeAll(async () => {
  kernel = await loadSpectralKernel();
});

/** max_i |a_i - b_i| / max|b| (both ascending). */
function relativeError(actual: Float64Array, expected: readonly number[]): number {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return scale === 0 ? worst : worst / scale;
}

interface Golden {
  details: { layer_id: number; name: string }[];
  evals: Record<string, number[]>;
}

/** The layer's eigenvalues as WW forms them: a dense matrix, or the pooled conv2d slices. */
async function layerEigenvalues(tensor: { shape: readonly number[]; read(s: number, c: number): Promise<Float64Array> }): Promise<Float64Array> {
  const shape = tensor.shape;
  const total = shape.reduce((a, b) => a * b, 1);
  const values = await tensor.read(0, total);
  if (shape.length === 2) return eigvalshOfMatrix(kernel, values, shape[0]!, shape[1]!);
  if (shape.length !== 4) throw new Error(`unexpected rank ${shape.length}`);
  const [out, input, kh, kw] = shape as [number, number, number, number];
  const scale = Math.sqrt(1 / 2);
  const pooled: number[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const slice = new Float64Array(out * input);
      for (let o = 0; o < out; o++) {
        for (let c = 0; c < input; c++) slice[o * input + c] = values[((o * input + c) * kh + i) * kw + j]! * scale;
      }
      pooled.push(...eigvalshOfMatrix(kernel, slice, out, input));
    }
  }
  return Float64Array.from(pooled).sort();
}

const cases = hasShared
  ? readdirSync(sharedPath("oracle", "cases"))
      .filter((f) => f.endsWith(".safetensors"))
      .map((f) => f.replace(/\.safetensors$/, ""))
  : [];

describe.skipIf(!requireShared("spectral kernel oracle comparison"))("eigenvalues vs weightwatcher goldens", () => {
  it("lists the oracle cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)("%s: every eigenvalue within 1e-13·λmax", async (name) => {
    const file = sharedPath("oracle", "cases", `${name}.safetensors`);
    const index = await readSafetensors(bytesSource(new Uint8Array(readFileSync(file)), file));
    const golden = JSON.parse(readFileSync(sharedPath("oracle", "golden", name, "default.json"), "utf8")) as Golden;
    let worst = 0;
    for (const row of golden.details) {
      const tensor = index.tensors.find((t) => t.name === `${row.name}.weight`);
      expect(tensor, `${name}: tensor ${row.name}.weight`).toBeDefined();
      const expected = golden.evals[String(row.layer_id)];
      expect(expected, `${name}: evals[${row.layer_id}]`).toBeDefined();
      const actual = await layerEigenvalues(tensor!);
      const error = relativeError(actual, expected!);
      worst = Math.max(worst, error);
      expect(error, `${name} layer ${row.layer_id} (${row.name})`).toBeLessThanOrEqual(TOLERANCE);
    }
    console.log(`spectral oracle ${name}: ${golden.details.length} layers, max |Δλ|/λmax = ${worst.toExponential(2)}`);
  });
});

/** Eigenvalues of WᵀW (or W Wᵀ when rows < cols) through ml-matrix, ascending. */
function referenceEigenvalues(w: Float64Array, rows: number, cols: number): number[] {
  const W = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) W.set(i, j, w[i * cols + j]!);
  const X = rows >= cols ? W.transpose().mmul(W) : W.mmul(W.transpose());
  return new EigenvalueDecomposition(X, { assumeSymmetric: true }).realEigenvalues.sort((a, b) => a - b);
}

describe("eigenvalues vs ml-matrix on random matrices", () => {
  const shapes: [number, number][] = [
    [1, 1], [1, 7], [7, 1], [2, 2], [3, 2], [2, 5], [9, 4], [17, 13], [40, 33],
    [64, 64], [65, 67], [100, 70], [150, 131], [300, 257],
  ];
  it.each(shapes)("%i x %i", (rows, cols) => {
    const w = randomMatrix(rows, cols, rows * 1000 + cols);
    const actual = eigvalshOfMatrix(kernel, w, rows, cols);
    expect(actual.length).toBe(Math.min(rows, cols));
    for (let i = 1; i < actual.length; i++) expect(actual[i]!).toBeGreaterThanOrEqual(actual[i - 1]!);
    // ml-matrix's own error is ~1e-15 relative; the bound leaves room for both
    expect(relativeError(actual, referenceEigenvalues(w, rows, cols))).toBeLessThan(1e-13);
  });

  it("rank-deficient: 200 x 150 of rank 20 has 130 eigenvalues at zero", () => {
    const rows = 200, cols = 150, rank = 20;
    const a = randomMatrix(rows, rank, 1), b = randomMatrix(rank, cols, 2);
    const w = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < rank; k++) {
        const aik = a[i * rank + k]!;
        for (let j = 0; j < cols; j++) w[i * cols + j] = w[i * cols + j]! + aik * b[k * cols + j]!;
      }
    }
    const actual = eigvalshOfMatrix(kernel, w, rows, cols);
    const expected = referenceEigenvalues(w, rows, cols);
    const lambdaMax = expected[cols - 1]!;
    expect(relativeError(actual, expected)).toBeLessThan(1e-13);
    for (let i = 0; i < cols - rank; i++) expect(Math.abs(actual[i]!)).toBeLessThan(1e-13 * lambdaMax);
    expect(actual[cols - rank]!).toBeGreaterThan(1e-6 * lambdaMax);
  });

  it("all-zero W gives exact zeros", () => {
    expect(Array.from(eigvalshOfMatrix(kernel, new Float64Array(30 * 20), 30, 20))).toEqual(new Array(20).fill(0));
  });

  it("M = 1: the squared norm of the column", () => {
    const w = Float64Array.from([3, -4, 12]);
    expect(Array.from(eigvalshOfMatrix(kernel, w, 3, 1))).toEqual([169]);
    expect(Array.from(eigvalshOfMatrix(kernel, w, 1, 3))).toEqual([169]);
  });

  it("M = 2: closed form", () => {
    // W = [[1, 2], [3, 4]]: WᵀW = [[10, 14], [14, 20]], λ = 15 ± sqrt(221)
    const actual = eigvalshOfMatrix(kernel, Float64Array.from([1, 2, 3, 4]), 2, 2);
    expect(actual[0]!).toBeCloseTo(15 - Math.sqrt(221), 13);
    expect(actual[1]!).toBeCloseTo(15 + Math.sqrt(221), 13);
  });

  it("repeated eigenvalues: orthogonal columns scaled to 1, 1, 1, 4, 4, 9", () => {
    // W = Q diag(s) with Q a 200 x 6 slice of a Householder reflector (orthonormal columns)
    const rows = 200, scales = [1, 1, 1, 2, 2, 3];
    const cols = scales.length;
    const v = randomMatrix(rows, 1, 7);
    const norm2 = v.reduce((s, x) => s + x * x, 0);
    const w = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) w[i * cols + j] = ((i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / norm2) * scales[j]!;
    }
    const actual = Array.from(eigvalshOfMatrix(kernel, w, rows, cols));
    const expected = [1, 1, 1, 4, 4, 9];
    for (let i = 0; i < cols; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-13 * 9);
  });

  it("many identical eigenvalues (W = identity 300 x 300) converge", () => {
    const n = 300;
    const w = new Float64Array(n * n);
    for (let i = 0; i < n; i++) w[i * n + i] = 1;
    const actual = eigvalshOfMatrix(kernel, w, n, n);
    for (const value of actual) expect(Math.abs(value - 1)).toBeLessThan(1e-14);
  });

  it("rows fed in several blocks give the same eigenvalues as one block", () => {
    const rows = 700, cols = 90;
    const w = randomMatrix(rows, cols, 11);
    const whole = eigvalshOfMatrix(kernel, w, rows, cols);
    const accumulator = kernel.gram(cols);
    for (const [first, count] of [[0, 1], [1, 300], [301, 399]] as const) {
      accumulator.addRows(w.subarray(first * cols, (first + count) * cols));
    }
    const pieces = accumulator.eigvalsh();
    expect(relativeError(pieces, Array.from(whole))).toBeLessThan(1e-14);
  });

  it("one instance analyses many layers, large then small, without stale state", () => {
    const big = randomMatrix(400, 300, 21);
    eigvalshOfMatrix(kernel, big, 400, 300);
    const small = randomMatrix(12, 5, 22);
    expect(relativeError(eigvalshOfMatrix(kernel, small, 12, 5), referenceEigenvalues(small, 12, 5))).toBeLessThan(1e-13);
  });
});

describe("accumulator contract", () => {
  it("rejects a row block that is not a whole number of rows", () => {
    const accumulator = kernel.gram(4);
    expect(() => accumulator.addRows(new Float64Array(6))).toThrow("6 values is not a whole number of 4-column rows");
    accumulator.dispose();
  });

  it("allows one accumulation at a time per instance, and none after release", () => {
    const first = kernel.gram(3);
    expect(() => kernel.gram(3)).toThrow("already in progress");
    first.addRows(Float64Array.from([1, 0, 0]));
    expect(Array.from(first.eigvalsh())).toEqual([0, 0, 1]);
    expect(() => first.addRows(new Float64Array(3))).toThrow("already released");
    const second = kernel.gram(2);
    second.dispose();
    expect(() => second.eigvalsh()).toThrow("already released");
  });

  it("refuses NaN and infinite entries with an UnsupportedError", () => {
    const accumulator = kernel.gram(2);
    accumulator.addRows(Float64Array.from([1, Number.NaN, 2, 3]));
    expect(() => accumulator.eigvalsh()).toThrow("the matrix has NaN or infinite entries");
    const again = kernel.gram(2);
    again.addRows(Float64Array.from([1, Number.POSITIVE_INFINITY]));
    expect(() => again.eigvalsh()).toThrow(/UnsupportedError|NaN or infinite/);
  });
});
