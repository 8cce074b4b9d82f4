/**
 * Fuzzing the GGUF reader with mutated real files: truncations, bit flips, huge counts and lengths,
 * offsets past the end, bogus tensor and value types. Whatever the bytes, only AlphawatchError
 * subclasses may come out (never TypeError / RangeError), of the parse and of reading the first
 * and last elements of every tensor. Seeded, so a failure names an iteration that can be replayed.
 * ALPHAWATCH_FUZZ_ITERATIONS sets the iteration count (default 3000), ALPHAWATCH_FUZZ_SEED the seed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../core/formats/byte-source.js";
import { looksLikeGguf, readGguf } from "../core/formats/gguf.js";
import { openTensorIndex } from "../core/formats/open.js";
import { AlphawatchError } from "../core/errors.js";
import { elementCount } from "../core/formats/tensor.js";
import { buildGguf, f32Bytes } from "./formats-gguf-writer.js";
import { seededRandom } from "./seeded-random.js";
import { requireShared, sharedPath } from "./shared.js";

const ITERATIONS = Number(process.env.ALPHAWATCH_FUZZ_ITERATIONS ?? 3000);
const SEED = Number(process.env.ALPHAWATCH_FUZZ_SEED ?? 0x5eed_9a3f);
/** Generous bound that only catches a hang (an iteration normally takes about a millisecond). */
const ITERATION_HANG_MS = 10_000;

interface Base {
  name: string;
  bytes: Uint8Array;
  /** End of the header (start of tensor data); mutations concentrate before it. */
  headerEnd: number;
  /** Byte positions of u64 fields (counts, string lengths, ne, offsets). */
  u64Fields: number[];
  /** Byte positions of u32 type fields (tensor types, value types, n_dims). */
  u32Fields: number[];
}

/** Locates header fields by walking the (valid) file with a tiny independent parser. */
function describeBase(name: string, bytes: Uint8Array): Base {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64Fields = [8, 16];
  const u32Fields = [4];
  let at = 24;
  const string = () => {
    u64Fields.push(at);
    const length = Number(view.getBigUint64(at, true));
    at += 8 + length;
  };
  const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number): void => {
    if (type === 8) return string();
    if (type === 9) {
      u32Fields.push(at);
      const elementType = view.getUint32(at, true);
      u64Fields.push(at + 4);
      const length = Number(view.getBigUint64(at + 4, true));
      at += 12;
      for (let i = 0; i < length; i++) value(elementType);
      return;
    }
    at += FIXED[type]!;
  };
  const tensorCount = Number(view.getBigUint64(8, true));
  const kvCount = Number(view.getBigUint64(16, true));
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const keyStart = at + 8;
    string();
    const key = new TextDecoder().decode(bytes.subarray(keyStart, at));
    u32Fields.push(at);
    const type = view.getUint32(at, true);
    at += 4;
    if (key === "general.alignment") alignment = view.getUint32(at, true);
    value(type);
  }
  for (let i = 0; i < tensorCount; i++) {
    string();
    u32Fields.push(at);
    const nDims = view.getUint32(at, true);
    at += 4;
    for (let d = 0; d < nDims; d++, at += 8) u64Fields.push(at);
    u32Fields.push(at);
    at += 4;
    u64Fields.push(at);
    at += 8;
  }
  return { name, bytes, headerEnd: Math.ceil(at / alignment) * alignment, u64Fields, u32Fields };
}

const HUGE_U64 = [2n ** 60n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 53n + 1n, 0xffff_ffffn, 1n << 40n];
const BOGUS_U32 = [0xffff_ffff, 0x8000_0000, 13, 9, 99, 31, 16, 34, 4, 5, 7];

function mutate(base: Base, random: () => number): Uint8Array {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const inHeader = () => Math.floor(random() * base.headerEnd);
  const anywhere = () => Math.floor(random() * base.bytes.length);
  let bytes = base.bytes.slice();
  const mutations = 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    const view = new DataView(bytes.buffer);
    const kind = Math.floor(random() * 8);
    switch (kind) {
      case 0: // truncation, mostly inside the header
        bytes = bytes.slice(0, random() < 0.7 ? inHeader() : anywhere());
        break;
      case 1: { // bit flips
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) {
          const at = random() < 0.8 ? inHeader() : anywhere();
          if (at < bytes.length) bytes[at]! ^= 1 << Math.floor(random() * 8);
        }
        break;
      }
      case 2: { // a huge count, length, dimension or offset in a known u64 field
        const at = pick(base.u64Fields);
        if (at + 8 <= bytes.length) view.setBigUint64(at, pick(HUGE_U64), true);
        break;
      }
      case 3: { // a bogus tensor type, value type or dimension count
        const at = pick(base.u32Fields);
        if (at + 4 <= bytes.length) view.setUint32(at, pick(BOGUS_U32), true);
        break;
      }
      case 4: { // a length or offset just past what the file holds
        const at = pick(base.u64Fields);
        if (at + 8 <= bytes.length) view.setBigUint64(at, BigInt(bytes.length - at + Math.floor(random() * 64)), true);
        break;
      }
      case 5: { // a small perturbation of a u64 field (misaligned offsets, off-by-one lengths)
        const at = pick(base.u64Fields);
        if (at + 8 <= bytes.length) view.setBigUint64(at, BigInt.asUintN(64, view.getBigUint64(at, true) + BigInt(Math.floor(random() * 9) - 4)), true);
        break;
      }
      case 6: { // random bytes over a header span
        const at = inHeader();
        for (let i = at; i < Math.min(bytes.length, at + 1 + Math.floor(random() * 16)); i++) bytes[i] = Math.floor(random() * 256);
        break;
      }
      default: { // a u32 field set to a random value
        const at = pick(base.u32Fields);
        if (at + 4 <= bytes.length) view.setUint32(at, Math.floor(random() * 2 ** 32), true);
      }
    }
  }
  return bytes;
}

/** Parses and reads; returns the error if one was thrown. */
async function exercise(bytes: Uint8Array, viaDetection: boolean): Promise<unknown> {
  try {
    const source = bytesSource(bytes, "fuzz.gguf");
    const index = viaDetection ? await openTensorIndex(source) : await readGguf(source);
    for (const tensor of index.tensors) {
      const total = elementCount(tensor.shape);
      await tensor.read(0, Math.min(64, total));
      if (total > 0) await tensor.read(total - 1, 1);
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

function withHangGuard<T>(promise: Promise<T>, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not finish within ${ITERATION_HANG_MS} ms`)), ITERATION_HANG_MS);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

function syntheticBase(): Base {
  const bytes = buildGguf({
    alignment: 64,
    metadata: [
      ["general.name", { type: "string", value: "fuzz" }],
      ["tokens", { type: "stringArray", count: 40, item: (i) => `t${i}` }],
      ["nested", { type: "array", elementType: "array", items: [{ type: "array", elementType: "i16", items: [{ type: "i16", value: -3 }] }] }],
      ["ratio", { type: "f64", value: 0.5 }],
      ["flag", { type: "bool", value: false }],
    ],
    tensors: [
      { name: "q8", ne: [32, 2], typeId: 8, data: new Uint8Array(68).map((_, i) => (i * 37) & 0xff) },
      { name: "f32", ne: [3, 2], typeId: 0, data: f32Bytes([1, 2, 3, 4, 5, 6]) },
    ],
  });
  return describeBase("synthetic.gguf", bytes);
}

describe("fuzzing the GGUF reader", () => {
  it("the synthetic base parses cleanly", async () => {
    const base = syntheticBase();
    expect(await exercise(base.bytes, false)).toBeUndefined();
    expect(base.u32Fields.length).toBeGreaterThan(10);
  });

  it(
    `only typed errors come out of ${ITERATIONS} mutated files`,
    async () => {
      const bases = [syntheticBase()];
      // Without ../shared the synthetic file alone is fuzzed.
      if (requireShared("fuzzing of the shared GGUF fixtures (synthetic file only)")) {
        for (const file of ["models/series/formats/gguf/mlp.Q4_K.gguf", "models/series/formats/gguf/mlp.Q8_0.align256.gguf",
          "models/series/formats/gguf/mlp.IQ4_XS.gguf", "models/real/llama2c-stories260K/stories260K.Q8_0.gguf"]) {
          bases.push(describeBase(file, new Uint8Array(readFileSync(sharedPath(file)))));
        }
      }
      for (const base of bases) expect(await exercise(base.bytes, false), base.name).toBeUndefined();
      const random = seededRandom(SEED);
      const outcomes = { parsed: 0, typedErrors: 0 };
      const kinds = new Map<string, number>();
      for (let i = 0; i < ITERATIONS; i++) {
        const base = bases[i % bases.length]!;
        const mutated = mutate(base, random);
        const label = `iteration ${i} (${base.name}, seed ${SEED})`;
        // Every fifth file goes through format detection, when its magic survived (a file whose
        // magic is gone belongs to other readers' fuzzing).
        const error = await withHangGuard(exercise(mutated, i % 5 === 0 && looksLikeGguf(mutated)), label);
        if (error === undefined) {
          outcomes.parsed++;
          continue;
        }
        if (!(error instanceof AlphawatchError)) {
          throw new Error(`${label}: untyped ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`);
        }
        expect(error.message.startsWith("fuzz.gguf: "), `${label}: ${error.message}`).toBe(true);
        outcomes.typedErrors++;
        kinds.set(error.name, (kinds.get(error.name) ?? 0) + 1);
      }
      expect(outcomes.parsed + outcomes.typedErrors).toBe(ITERATIONS);
      // The mutations must actually reach the error paths, and some files must still parse.
      expect(outcomes.typedErrors).toBeGreaterThan(ITERATIONS / 4);
      expect(outcomes.parsed).toBeGreaterThan(0);
      expect(kinds.get("FormatError") ?? 0).toBeGreaterThan(0);
    },
  );
});
