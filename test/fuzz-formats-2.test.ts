/**
 * Fuzzing of the ONNX, TF.js and Keras HDF5 readers: real files, mutated (truncations, bit flips,
 * huge varint lengths, bytes set to 0xff, spliced regions, edited JSON), must either read or fail
 * with an AlphawatchError — never a TypeError / RangeError / bare string — and so must reading the
 * first elements of every tensor of a successful parse. Seeded, so failures reproduce.
 * ALPHAWATCH_FUZZ_ITERATIONS sets the iterations per input file (default below).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { AlphawatchError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { readOnnx } from "../core/formats/onnx.js";
import { readTfjs } from "../core/formats/tfjs.js";
import { readKerasH5 } from "../core/formats/keras-h5.js";
import type { ByteSource } from "../core/formats/byte-source.js";
import type { TensorIndex } from "../core/formats/tensor.js";
import { folderSource } from "./folder-source.js";
import { encodeMessage, float32Bytes, type ProtoTestField } from "./formats-2-sources.js";
import { seededRandom } from "./seeded-random.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const ITERATIONS = Number(process.env.ALPHAWATCH_FUZZ_ITERATIONS ?? "") || 0;

type Mutation = (bytes: Uint8Array, random: () => number) => Uint8Array;
const at = (random: () => number, n: number) => Math.floor(random() * n);

const BINARY_MUTATIONS: Mutation[] = [
  // Truncation anywhere.
  (b, r) => b.slice(0, at(r, b.length)),
  // A few bit flips.
  (b, r) => {
    const out = b.slice();
    for (let i = 0, n = 1 + at(r, 8); i < n; i++) out[at(r, out.length)]! ^= 1 << at(r, 8);
    return out;
  },
  // A huge varint (length / dimension / offset) written over a random spot.
  (b, r) => {
    const out = b.slice();
    const huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    out.set(huge.slice(0, Math.max(0, Math.min(huge.length, out.length - 1))), at(r, Math.max(1, out.length - huge.length)));
    return out;
  },
  // Bytes set to 0xff (offsets and sizes past the end).
  (b, r) => {
    const out = b.slice();
    const start = at(r, out.length);
    out.fill(0xff, start, Math.min(out.length, start + 1 + at(r, 8)));
    return out;
  },
  // A region copied over another (duplicated headers, nested messages in odd places).
  (b, r) => {
    const out = b.slice();
    const length = 1 + at(r, 64);
    const from = at(r, Math.max(1, out.length - length));
    out.copyWithin(at(r, Math.max(1, out.length - length)), from, from + length);
    return out;
  },
];

const JSON_MUTATIONS: Mutation[] = [
  ...BINARY_MUTATIONS.slice(0, 2),
  // Numbers replaced by extreme ones.
  (b, r) => {
    const text = new TextDecoder().decode(b);
    const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
    if (numbers.length === 0) return b;
    const pick = numbers[at(r, numbers.length)]!;
    const replacement = ["1e300", "-1", "99999999999", "0", "1.5", "null", '"x"', "[]", "9007199254740993"][at(r, 9)]!;
    return new TextEncoder().encode(text.slice(0, pick.index) + replacement + text.slice(pick.index! + pick[0].length));
  },
  // Keys renamed or values replaced by other JSON types.
  (b, r) => {
    const text = new TextDecoder().decode(b);
    const keys = [...text.matchAll(/"(\w+)":/g)];
    if (keys.length === 0) return b;
    const pick = keys[at(r, keys.length)]!;
    const replacement = [`"${pick[1]}_":`, `"${pick[1]}": null, "_":`, `"${pick[1]}": {}, "_":`, `"${pick[1]}": "../x", "_":`][at(r, 4)]!;
    return new TextEncoder().encode(text.slice(0, pick.index) + replacement + text.slice(pick.index! + pick[0].length));
  },
];

/** Reads the first elements of every tensor: values must decode or fail with a typed error. */
async function touch(index: TensorIndex): Promise<void> {
  for (const tensor of index.tensors.slice(0, 64)) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    try {
      await tensor.read(0, Math.min(4, count));
    } catch (error) {
      if (!(error instanceof AlphawatchError)) throw error;
    }
  }
}

interface Case {
  readonly label: string;
  /** The file that is opened. */
  readonly main: string;
  /** Files mutated (the main file and/or its siblings), by base name. */
  readonly targets: readonly string[];
  readonly mutations: readonly Mutation[];
  readonly read: (source: ByteSource) => Promise<TensorIndex>;
  readonly iterations: number;
}

async function fuzz(c: Case, seed: number): Promise<{ ok: number; rejected: number; failures: string[] }> {
  const random = seededRandom(seed);
  const originals = new Map(c.targets.map((name) => [name, new Uint8Array(readFileSync(path.join(path.dirname(c.main), name)))]));
  const failures: string[] = [];
  let ok = 0;
  let rejected = 0;
  const iterations = ITERATIONS || c.iterations;
  for (let i = 0; i < iterations; i++) {
    const target = c.targets[at(random, c.targets.length)]!;
    const mutation = c.mutations[at(random, c.mutations.length)]!;
    let bytes = mutation(originals.get(target)!, random);
    if (random() < 0.2) bytes = BINARY_MUTATIONS[1]!(bytes, random);
    const overrides = new Map<string, Uint8Array>(originals);
    overrides.set(target, bytes);
    try {
      const index = await c.read(folderSource(c.main, overrides));
      await touch(index);
      ok++;
    } catch (error) {
      if (error instanceof AlphawatchError) rejected++;
      else failures.push(`seed ${seed} iteration ${i} (${target}): ${error instanceof Error ? `${error.name}: ${error.message}` : `thrown ${typeof error}: ${String(error)}`}`);
    }
  }
  return { ok, rejected, failures };
}

requireShared("fuzzing of the ONNX, TF.js and Keras readers");

describe.skipIf(!hasShared)("fuzz: ONNX, TF.js, Keras HDF5 readers throw only typed errors", () => {
  const formats = (...parts: string[]) => sharedPath("models/series/formats", ...parts);
  const real = (...parts: string[]) => sharedPath("models/real", ...parts);
  const cases: Case[] = [
    { label: "ONNX Loop body", main: formats("onnx-loop/mlp_tail_loop.onnx"), targets: ["mlp_tail_loop.onnx"], mutations: BINARY_MUTATIONS, read: readOnnx, iterations: 600 },
    { label: "ONNX Constant nodes", main: formats("onnx-loop/mlp_tail_constant.onnx"), targets: ["mlp_tail_constant.onnx"], mutations: BINARY_MUTATIONS, read: openTensorIndex, iterations: 400 },
    { label: "ONNX external data", main: formats("onnx-external/mlp.onnx"), targets: ["mlp.onnx"], mutations: BINARY_MUTATIONS, read: readOnnx, iterations: 400 },
    { label: "TF.js layers uint16", main: formats("tfjs-uint16/model.json"), targets: ["model.json", "group1-shard1of1.bin"], mutations: JSON_MUTATIONS, read: readTfjs, iterations: 200 },
    { label: "TF.js manifest mixed", main: real("tfjs-manifest-faceapi/face_landmark_68_tiny_model-weights_manifest.json"), targets: ["face_landmark_68_tiny_model-weights_manifest.json"], mutations: JSON_MUTATIONS, read: openTensorIndex, iterations: 300 },
    { label: "TF.js graph", main: real("tfjs-graph-human/blazeface.json"), targets: ["blazeface.json"], mutations: JSON_MUTATIONS, read: readTfjs, iterations: 150 },
    { label: "HDF5 non-Keras", main: real("not-a-model/measurements.h5"), targets: ["measurements.h5"], mutations: BINARY_MUTATIONS, read: readKerasH5, iterations: 400 },
    { label: "Keras HDF5", main: real("keras-h5/gender_mini_XCEPTION.21-0.95.hdf5"), targets: ["gender_mini_XCEPTION.21-0.95.hdf5"], mutations: BINARY_MUTATIONS, read: readKerasH5, iterations: 100 },
  ];
  cases.forEach((c, k) => {
    it(`${c.label}: ${ITERATIONS || c.iterations} mutations`, async () => {
      const result = await fuzz(c, 0x5eed + k);
      expect(result.failures.slice(0, 5)).toEqual([]);
      expect(result.ok + result.rejected).toBe(ITERATIONS || c.iterations);
    });
  });

  it("deeply nested sub-graphs end in a typed error, not a stack overflow", async () => {
    let graph: ProtoTestField[] = [{ n: 5, message: [{ n: 2, varint: 1 }, { n: 8, text: "w" }, { n: 9, bytes: float32Bytes([1]) }] }];
    for (let level = 0; level < 400; level++) {
      graph = [{ n: 1, message: [{ n: 4, text: "If" }, { n: 5, message: [{ n: 1, text: "then_branch" }, { n: 6, message: graph }] }] }];
    }
    const bytes = encodeMessage([{ n: 1, varint: 8 }, { n: 7, message: graph }]);
    const source: ByteSource = { name: "deep.onnx", size: async () => bytes.length, read: async (o, l) => bytes.subarray(o, o + l) };
    await expect(readOnnx(source)).rejects.toThrow(/graphs nested more than 32 levels deep/);
  });
});
