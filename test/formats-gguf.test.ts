import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { readGguf } from "../core/formats/gguf.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { openTensorIndex } from "../core/formats/open.js";
import type { TensorIndex, TensorInfo } from "../core/formats/tensor.js";
import { elementCount } from "../core/formats/tensor.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

interface ExpectedTensor {
  name: string;
  ggml_type: string;
  ggml_type_id: number;
  ne: number[];
  shape: number[];
  n_elements: number;
  first8: number[];
  sum: number;
  sum_sq: number;
  top5_eigenvalues: number[] | null;
}
interface ExpectedFile {
  gguf_version: number;
  alignment: number;
  n_tensors: number;
  n_kv: number;
  metadata: Record<string, { type: string; value: unknown; element_type?: string; length?: number }>;
  tensors: ExpectedTensor[];
}
interface ExpectedJson {
  files: Record<string, ExpectedFile>;
}

const ready = requireShared("GGUF reader tests against shared/models");

function loadSource(...parts: string[]): ByteSource {
  const bytes = new Uint8Array(readFileSync(sharedPath(...parts)));
  return bytesSource(bytes, parts[parts.length - 1]);
}

function loadExpected(...parts: string[]): ExpectedJson {
  return JSON.parse(readFileSync(sharedPath(...parts), "utf8")) as ExpectedJson;
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/** The five largest eigenvalues of WᵀW, from the smaller of the two Gram matrices (same nonzero spectrum). */
function top5Eigenvalues(values: Float64Array, rows: number, cols: number): number[] {
  // G = W Wᵀ (rows x rows) or Wᵀ W (cols x cols), whichever is smaller.
  const byRows = rows <= cols;
  const n = byRows ? rows : cols;
  const inner = byRows ? cols : rows;
  const at = (i: number, k: number) => (byRows ? values[i * cols + k]! : values[k * cols + i]!);
  const columns = Array.from({ length: n }, (_, i) => Float64Array.from({ length: inner }, (_, k) => at(i, k)));
  const gram = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const a = columns[i]!;
      const b = columns[j]!;
      let dot = 0;
      for (let k = 0; k < inner; k++) dot += a[k]! * b[k]!;
      gram.set(i, j, dot);
      gram.set(j, i, dot);
    }
  }
  const eigen = new EigenvalueDecomposition(gram, { assumeSymmetric: true }).realEigenvalues;
  return [...eigen].sort((a, b) => b - a).slice(0, 5);
}

/** Renders an expected.json metadata entry the way the reader surfaces it. */
function expectedMetadataString(entry: ExpectedFile["metadata"][string]): string | undefined {
  if (entry.type === "STRING") return entry.value as string;
  if (["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "UINT64", "INT64"].includes(entry.type)) return String(entry.value);
  if (entry.type === "ARRAY" && entry.element_type === "INT32") return `[${(entry.value as number[]).join(", ")}]`;
  if (entry.type === "ARRAY" && entry.element_type === "STRING") return `[${(entry.value as string[]).map((s) => JSON.stringify(s)).join(", ")}]`;
  return undefined;
}

async function checkAgainstExpected(index: TensorIndex, expected: ExpectedFile, checkEigenvalues: (t: ExpectedTensor) => boolean): Promise<void> {
  expect(index.format).toBe("gguf");
  expect(index.skipped).toEqual([]);
  expect(index.tensors.map((t) => t.name)).toEqual(expected.tensors.map((t) => t.name));
  expect(Object.keys(index.metadata).length).toBe(expected.n_kv);
  for (const [key, entry] of Object.entries(expected.metadata)) {
    const actual = index.metadata[key];
    expect(actual, key).toBeDefined();
    if (entry.type === "FLOAT32") {
      expect(Math.fround(Number(actual)), key).toBe(entry.value);
    } else {
      const rendered = expectedMetadataString(entry);
      if (rendered !== undefined) expect(actual, key).toBe(rendered);
    }
  }
  for (const [i, want] of expected.tensors.entries()) {
    const tensor = index.tensors[i]!;
    expect(tensor.dtype, want.name).toBe(want.ggml_type);
    expect(tensor.shape, want.name).toEqual(want.shape);
    expect(tensor.shape, want.name).toEqual([...want.ne].reverse());
    const values = await tensor.read(0, want.n_elements);
    // ggml's float32 results, bit for bit.
    expect(Array.from(values.subarray(0, 8)), want.name).toEqual(want.first8);
    let sum = 0;
    let sumSq = 0;
    for (const v of values) {
      sum += v;
      sumSq += v * v;
    }
    expect(relativeError(sum, want.sum), `${want.name} sum`).toBeLessThan(1e-9);
    expect(relativeError(sumSq, want.sum_sq), `${want.name} sum_sq`).toBeLessThan(1e-12);
    if (want.top5_eigenvalues !== null && checkEigenvalues(want)) {
      const [rows, cols] = want.shape as [number, number];
      const top5 = top5Eigenvalues(values, rows, cols);
      for (let k = 0; k < 5; k++) {
        expect(relativeError(top5[k]!, want.top5_eigenvalues[k]!), `${want.name} eigenvalue ${k}`).toBeLessThan(1e-9);
      }
    }
  }
}

describe.skipIf(!ready)("GGUF: one trained MLP in 15 tensor types, against ggml's own dequantization", () => {
  const expected = hasShared ? loadExpected("models/series/formats/gguf/expected.json") : { files: {} };
  const files = Object.keys(expected.files);

  it("covers all 17 files of the fixture", () => {
    expect(files.length).toBe(17);
  });

  for (const file of files) {
    it(`${file}: metadata, shapes, first values, sums and top eigenvalues`, async () => {
      const want = expected.files[file]!;
      const index = await readGguf(loadSource("models/series/formats/gguf", file));
      // Sums and sums of squares already cover every value; the (slow, ~0.3 s each) spectra are
      // checked for one converted matrix per file and for all matrices of the F32 file.
      await checkAgainstExpected(index, want, (t) => t.name === "blk.0.ffn_up.weight" || file === "mlp.F32.gguf");
      expect(index.metadata["general.alignment"]).toBe(String(want.alignment));
    });
  }

  it("reads arbitrary element ranges from the covering blocks only", async () => {
    for (const file of ["mlp.Q4_0.gguf", "mlp.Q5_1.gguf", "mlp.Q3_K.gguf", "mlp.Q6_K.gguf", "mlp.IQ4_XS.gguf", "mlp.BF16.gguf"]) {
      const inner = loadSource("models/series/formats/gguf", file);
      const reads: [number, number][] = [];
      const recording: ByteSource = {
        name: inner.name,
        size: () => inner.size(),
        read: (offset, length) => {
          reads.push([offset, length]);
          return inner.read(offset, length);
        },
      };
      const index = await readGguf(recording);
      const tensor = index.tensors.find((t) => t.name === "blk.0.ffn_down.weight")!;
      const all = await tensor.read(0, elementCount(tensor.shape));
      for (const [start, count] of [[0, 1], [37, 300], [255, 2], [1000, 513], [131071, 1], [70000, 0]] as const) {
        reads.length = 0;
        const part = await tensor.read(start, count);
        expect(Array.from(part), `${file} ${start}+${count}`).toEqual(Array.from(all.subarray(start, start + count)));
        if (count > 0) {
          expect(reads.length).toBe(1);
          const isK = file.includes("_K") || file.includes("XS");
          const blockElements = file.includes("BF16") ? 1 : isK ? 256 : 32;
          const blocks = Math.ceil((start + count) / blockElements) - Math.floor(start / blockElements);
          const bytesPerElement = reads[0]![1] / (blocks * blockElements);
          expect(Number.isInteger(reads[0]![1] / blocks), `${file} reads whole blocks`).toBe(true);
          expect(bytesPerElement).toBeLessThanOrEqual(2);
        }
      }
      await expect(tensor.read(131071, 2)).rejects.toThrow(/outside its 131072 elements/);
    }
  });

  it("is detected by content through openTensorIndex", async () => {
    const index = await openTensorIndex(loadSource("models/series/formats/gguf", "mlp.Q4_K.v2.gguf"));
    expect(index.format).toBe("gguf");
    expect(index.tensors[0]!.dtype).toBe("Q4_K");
  });
});

describe.skipIf(!ready)("GGUF: the same weights as safetensors", () => {
  for (const model of ["mlp", "cnn"]) {
    it(`${model}.gguf equals ${model}.safetensors tensor for tensor, in PyTorch orientation`, async () => {
      const gguf = await readGguf(loadSource("models/series/formats", `${model}.gguf`));
      const safetensors = await readSafetensors(loadSource("models/series/formats", `${model}.safetensors`));
      expect(gguf.tensors.map((t) => t.name)).toEqual(safetensors.tensors.map((t) => t.name));
      expect(gguf.metadata["general.architecture"]).toBeDefined();
      for (const reference of safetensors.tensors) {
        const tensor = gguf.tensors.find((t) => t.name === reference.name) as TensorInfo;
        expect(tensor.shape, reference.name).toEqual(reference.shape);
        const n = elementCount(reference.shape);
        expect(Array.from(await tensor.read(0, n)), reference.name).toEqual(Array.from(await reference.read(0, n)));
      }
    });
  }
});

describe.skipIf(!ready)("GGUF: llama2.c stories260K as llama.cpp lays it out", () => {
  const expected = hasShared ? loadExpected("models/real/llama2c-stories260K/gguf_expected.json") : { files: {} };
  for (const file of ["stories260K.F32.gguf", "stories260K.Q8_0.gguf"]) {
    it(`${file}: 48 tensors with ggml's values and spectra`, async () => {
      const want = expected.files[file]!;
      expect(want.n_tensors).toBe(48);
      const index = await readGguf(loadSource("models/real/llama2c-stories260K", file));
      await checkAgainstExpected(index, want, () => true);
      const embedding = index.tensors.find((t) => t.name === "token_embd.weight")!;
      expect(embedding.shape).toEqual([512, 64]);
    });
  }

  it("the Q8_0 file mixes Q8_0, F16 and F32 tensors", async () => {
    const index = await readGguf(loadSource("models/real/llama2c-stories260K", "stories260K.Q8_0.gguf"));
    const counts: Record<string, number> = {};
    for (const t of index.tensors) counts[t.dtype] = (counts[t.dtype] ?? 0) + 1;
    expect(counts).toEqual({ Q8_0: 32, F16: 5, F32: 11 });
    expect(index.tensors.find((t) => t.name === "blk.0.ffn_down.weight")!.shape).toEqual([64, 172]);
  });
});
