/**
 * Fuzzing of the safetensors, NumPy, PyTorch (zip and legacy) and sharded readers: real files
 * mutated (truncations, bit flips, huge lengths and counts written over header fields, offsets
 * past the end, edited JSON numbers) with a seeded PRNG. Whatever the bytes, only typed
 * AlphawatchErrors may come out, of the parse and of reading the first and last elements of
 * every tensor. ALPHAWATCH_FUZZ_ITERATIONS sets the total number of iterations (default 3000).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { AlphawatchError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { elementCount } from "../core/formats/tensor.js";
import { seededRandom } from "./seeded-random.js";
import { requireShared, sharedPath } from "./shared.js";

const TOTAL_ITERATIONS = Number(process.env.ALPHAWATCH_FUZZ_ITERATIONS ?? 3000);

interface Seed {
  /** File name the source reports (and whose siblings are the other files of the seed). */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Other files next to it (shards), mutated too when the mutation picks them. */
  readonly siblings: ReadonlyMap<string, Uint8Array>;
}

const HUGE_VALUES = [0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 1 << 30, 0x10000];

type Mutation = (bytes: Uint8Array, random: () => number) => { bytes: Uint8Array; what: string };

const pick = <T,>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;
/** Positions biased towards the start and the end of the file, where the headers live. */
function position(length: number, random: () => number): number {
  const r = random();
  if (r < 0.4) return Math.floor(random() * Math.min(length, 512));
  if (r < 0.7) return Math.max(0, length - 1 - Math.floor(random() * Math.min(length, 1024)));
  return Math.floor(random() * length);
}

const MUTATIONS: readonly Mutation[] = [
  (bytes, random) => {
    const cut = Math.floor(random() * bytes.length);
    return { bytes: bytes.slice(0, cut), what: `truncate to ${cut}` };
  },
  (bytes, random) => {
    const out = bytes.slice();
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips && out.length > 0; i++) out[position(out.length, random)]! ^= 1 << Math.floor(random() * 8);
    return { bytes: out, what: `${flips} bit flips` };
  },
  (bytes, random) => {
    const out = bytes.slice();
    if (out.length < 8) return { bytes: out, what: "noop" };
    const at = Math.min(position(out.length, random), out.length - 8);
    const view = new DataView(out.buffer);
    const value = pick(HUGE_VALUES, random);
    if (random() < 0.5) view.setUint32(at, value, true);
    else view.setBigUint64(at, BigInt(value) * BigInt(1 + Math.floor(random() * 1e6)), true);
    return { bytes: out, what: `huge value ${value} at ${at}` };
  },
  (bytes, random) => {
    // ZIP records near the end: sizes, counts and offsets of the EOCD / central directory.
    const out = bytes.slice();
    if (out.length < 64) return { bytes: out, what: "noop" };
    const at = out.length - 4 - Math.floor(random() * Math.min(out.length - 4, 600));
    new DataView(out.buffer).setUint32(at, pick(HUGE_VALUES, random), true);
    return { bytes: out, what: `tail u32 at ${at}` };
  },
  (bytes, random) => {
    // Numbers in a JSON or Python-literal header: shapes, offsets, lengths.
    const limit = Math.min(bytes.length, 8192);
    const text = new TextDecoder("latin1").decode(bytes.subarray(0, limit));
    const numbers = [...text.matchAll(/\d+/g)];
    if (numbers.length === 0) return { bytes: bytes.slice(), what: "noop" };
    const match = pick(numbers, random);
    const replacement = pick(["99999999999999999999", "-1", "0", "4294967296", "1e308", "9007199254740993", String(Math.floor(random() * 1e9))], random);
    // Text decoded as latin1 maps back to the same bytes one character per byte.
    const edited = text.slice(0, match.index!) + replacement + text.slice(match.index! + match[0].length);
    const latin = Uint8Array.from(edited, (c) => c.charCodeAt(0) & 0xff);
    const merged = new Uint8Array(latin.length + bytes.length - limit);
    merged.set(latin);
    merged.set(bytes.subarray(limit), latin.length);
    return { bytes: merged, what: `number ${match[0]} at ${match.index} -> ${replacement}` };
  },
  (bytes, random) => {
    const out = bytes.slice();
    const at = position(out.length, random);
    const run = 1 + Math.floor(random() * 16);
    out.fill(random() < 0.5 ? 0xff : 0, at, Math.min(out.length, at + run));
    return { bytes: out, what: `fill ${run} at ${at}` };
  },
];

async function exercise(source: ByteSource): Promise<void> {
  const index = await openTensorIndex(source);
  for (const tensor of index.tensors.slice(0, 64)) {
    const count = elementCount(tensor.shape);
    const first = Math.min(count, 8);
    if (first > 0) {
      const values = await tensor.read(0, first);
      expect(values.length).toBe(first);
      await tensor.read(count - first, first);
    }
  }
}

function loadSeeds(): Seed[] {
  const file = (relative: string, siblings: string[] = []): Seed => {
    const full = sharedPath(relative);
    return {
      name: path.basename(full),
      bytes: new Uint8Array(readFileSync(full)),
      siblings: new Map(siblings.map((s) => [s, new Uint8Array(readFileSync(path.join(path.dirname(full), s)))])),
    };
  };
  return [
    file("models/series/formats/cnn.safetensors"),
    file("models/series/formats/cnn.bf16.safetensors"),
    file("models/real/safetensors-spec-samples/all_dtypes.safetensors"),
    file("models/real/safetensors-spec-samples/metadata.safetensors"),
    file("models/series/formats/cnn.npz"),
    file("models/series/formats/cnn.compressed.npz"),
    file("models/series/formats/npy/fc2.weight.npy"),
    file("models/series/formats/npy/variants/fc2.weight.float16.npy"),
    file("models/series/formats/cnn.pt"),
    file("models/series/formats/cnn.legacy.pt"),
    file("models/real/pytorch-stories260K/stories260K_legacy.pt"),
    file("models/real/pytorch-stories260K/pytorch_model.bin"),
    file("models/series/formats/cnn-sharded/model.safetensors.index.json", ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]),
    file("models/series/formats/mlp-sharded-bin/pytorch_model.bin.index.json", ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]),
  ];
}

describe.skipIf(!requireShared("format fuzzing (safetensors, NumPy, PyTorch, sharded)"))("fuzzing formats I", () => {
  const seeds = requireShared("format fuzzing (safetensors, NumPy, PyTorch, sharded)") ? loadSeeds() : [];
  const perSeed = Math.max(1, Math.ceil(TOTAL_ITERATIONS / Math.max(1, seeds.length)));

  it.each(seeds.map((seed, i) => [seed.name, seed, i] as const))("%s: only typed errors come out", async (_name, seed, seedIndex) => {
    // The unmutated seed must read cleanly.
    await exercise(bytesSource(seed.bytes, seed.name, seed.siblings));
    const random = seededRandom(0x5eed + seedIndex * 7919);
    let parsed = 0;
    for (let iteration = 0; iteration < perSeed; iteration++) {
      // Mutate the main file, or (for sharded seeds) one of the shards.
      const targets = [seed.name, ...seed.siblings.keys()];
      const target = seed.siblings.size > 0 && random() < 0.5 ? pick(targets, random) : seed.name;
      const original = target === seed.name ? seed.bytes : seed.siblings.get(target)!;
      const mutation = pick(MUTATIONS, random)(original, random);
      const siblings = new Map(seed.siblings);
      let main = seed.bytes;
      if (target === seed.name) main = mutation.bytes;
      else siblings.set(target, mutation.bytes);
      try {
        await exercise(bytesSource(main, seed.name, siblings));
        parsed++;
      } catch (error) {
        if (!(error instanceof AlphawatchError)) {
          throw new Error(`${seed.name} iteration ${iteration} (${target}: ${mutation.what}) threw ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
        }
        expect(error.message.length).toBeGreaterThan(0);
      }
    }
    // Some mutations (bit flips in weights) leave a readable file.
    expect(parsed).toBeGreaterThan(0);
  }, 300_000);
});
