import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { bytesSource } from "../core/formats/byte-source.js";
import { FormatError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { unpickle } from "../core/formats/pickle.js";
import { readTorchLegacy, readTorchZip } from "../core/formats/pytorch.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { countingSource, describeIndex, fileBytes, maxAbsDiff, readAll } from "./formats-1-sources.js";
import { requireShared, sharedPath } from "./shared.js";

// ---- a tiny pickle writer, enough to build checkpoints and attacks byte by byte ----
const enc = new TextEncoder();
type Part = number[] | Uint8Array;
const concat = (...parts: Part[]): Uint8Array => {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) { out.set(a, at); at += a.length; }
  return out;
};
const P = {
  proto: [0x80, 2], stop: [0x2e], mark: [0x28], tuple: [0x74], emptyTuple: [0x29], reduce: [0x52],
  binpersid: [0x51], newFalse: [0x89], setitems: [0x75], setitem: [0x73], emptyDict: [0x7d], tuple1: [0x85],
  str(s: string): Uint8Array {
    const b = enc.encode(s);
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, b.length, true);
    return concat([0x58], n, b);
  },
  int(v: number): Uint8Array {
    const b = new Uint8Array(5);
    b[0] = 0x4a;
    new DataView(b.buffer).setInt32(1, v, true);
    return b;
  },
  global(module: string, name: string): Uint8Array {
    return concat([0x63], enc.encode(`${module}\n${name}\n`));
  },
  stackGlobal(module: string, name: string): Uint8Array {
    return concat(P.str(module), P.str(name), [0x93]);
  },
  ints(values: number[]): Uint8Array {
    return concat(P.mark, ...values.map((v) => P.int(v)), P.tuple);
  },
};

interface FakeTensor { name: string; key: string; storage?: string; numel: number; offset: number; size: number[]; stride: number[] }

function tensorPickle(t: FakeTensor): Uint8Array {
  return concat(
    P.str(t.name),
    P.global("torch._utils", "_rebuild_tensor_v2"),
    P.mark,
    P.mark, P.str("storage"), P.global("torch", t.storage ?? "FloatStorage"), P.str(t.key), P.str("cpu"), P.int(t.numel), P.tuple,
    P.binpersid,
    P.int(t.offset), P.ints(t.size), P.ints(t.stride), P.newFalse,
    P.global("collections", "OrderedDict"), P.emptyTuple, P.reduce,
    P.tuple, P.reduce,
  );
}

function stateDictPickle(tensors: FakeTensor[]): Uint8Array {
  return concat(P.global("collections", "OrderedDict"), P.emptyTuple, P.reduce, P.mark, ...tensors.map(tensorPickle), P.setitems);
}

/** `{outer: state_dict}` */
function nestedPickle(outer: string, tensors: FakeTensor[]): Uint8Array {
  return concat(P.proto, P.emptyDict, P.str("epoch"), P.int(3), P.setitem, P.str(outer), stateDictPickle(tensors), P.setitem, P.stop);
}

function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, Uint8Array> = { "archive/data.pkl": pickle, "archive/version": enc.encode("3\n") };
  for (const [key, bytes] of Object.entries(storages)) files[`archive/data/${key}`] = bytes;
  return zipSync(files, { level: 0 });
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe("restricted unpickler", () => {
  const marker = mkdtempSync(path.join(tmpdir(), "alphawatch-pickle-"));
  const pwned = path.join(marker, "pwned");
  afterAll(() => rmSync(marker, { recursive: true, force: true }));

  const attacks: Array<[string, Uint8Array]> = [
    ["os.system", concat(P.proto, P.global("os", "system"), P.str(`touch ${pwned}`), P.tuple1, P.reduce, P.stop)],
    ["posix.system", concat(P.proto, P.global("posix", "system"), P.str(`touch ${pwned}`), P.tuple1, P.reduce, P.stop)],
    ["builtins.eval", concat([0x80, 4], P.stackGlobal("builtins", "eval"), P.str("1+1"), P.tuple1, P.reduce, P.stop)],
    ["subprocess.Popen", concat(P.proto, P.global("subprocess", "Popen"), P.str("touch"), P.tuple1, P.reduce, P.stop)],
  ];

  it.each(attacks)("refuses %s before anything could run", async (qualified, bytes) => {
    expect(() => unpickle(bytes, { name: "evil.pkl", globals: new Map() }))
      .toThrow(new RegExp(`^evil.pkl: refuses to load ${qualified.replace(".", "\\.")}: `));
    // The same bytes as the data.pkl of a checkpoint, through the format detection.
    const attempt = openTensorIndex(bytesSource(torchZip(bytes, {}), "evil.pt"));
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(`evil.pt:archive/data.pkl: refuses to load ${qualified}`);
    expect(existsSync(pwned)).toBe(false);
  });

  it("refuses a pickled module object with a hint", async () => {
    const bytes = concat(P.proto, P.global("__main__", "Net"), P.emptyTuple, [0x81], P.stop);
    await expect(readTorchZip(bytesSource(torchZip(bytes, {}), "net.pt")))
      .rejects.toThrow(/refuses to load __main__\.Net: .*save with `torch\.save\(model\.state_dict\(\), path\)`/);
  });

  it("reports truncation and unknown opcodes as FormatErrors", () => {
    const full = concat(P.proto, P.str("abc"), P.stop);
    expect(() => unpickle(full.subarray(0, 5), { name: "t.pkl", globals: new Map() })).toThrow(/t.pkl: pickle is truncated/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), { name: "t.pkl", globals: new Map() })).toThrow(/unknown opcode 0xff/);
    expect(() => unpickle(Uint8Array.from([0x80, 2, 0x2e]), { name: "t.pkl", globals: new Map() })).toThrow(/stack underflow/);
    expect(unpickle(full, { name: "t.pkl", globals: new Map() }).value).toBe("abc");
  });
});

describe("PyTorch zip checkpoints built in memory", () => {
  const storage = f32([0, 1, 2, 3, 4, 5]);

  it.each(["state_dict", "model", "module"])("finds a state dict nested under %s", async (outer) => {
    const pickle = nestedPickle(outer, [{ name: "w", key: "0", numel: 6, offset: 0, size: [2, 3], stride: [3, 1] }]);
    const index = await openTensorIndex(bytesSource(torchZip(pickle, { 0: storage }), "n.pt"));
    expect(index.format).toBe("pytorch");
    expect(describeIndex(index)).toEqual([{ name: "w", shape: [2, 3], dtype: "F32" }]);
    expect(Array.from(await readAll(index.tensors[0]!))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("reads views: transposed strides, storage offsets, shared storages", async () => {
    const pickle = concat(P.proto, stateDictPickle([
      { name: "t", key: "0", numel: 6, offset: 0, size: [3, 2], stride: [1, 3] },
      { name: "tail", key: "0", numel: 6, offset: 4, size: [2], stride: [1] },
      { name: "column", key: "0", numel: 6, offset: 1, size: [2, 1], stride: [3, 1] },
    ]), P.stop);
    const index = await readTorchZip(bytesSource(torchZip(pickle, { 0: storage }), "v.pt"));
    const [t, tail, column] = index.tensors;
    expect(Array.from(await readAll(t!))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(Array.from(await t!.read(3, 2))).toEqual([4, 2]);
    expect(Array.from(await readAll(tail!))).toEqual([4, 5]);
    expect(Array.from(await readAll(column!))).toEqual([1, 4]);
  });

  it("rejects a view that reaches past its storage", async () => {
    const pickle = concat(P.proto, stateDictPickle([{ name: "w", key: "0", numel: 6, offset: 2, size: [2, 3], stride: [3, 1] }]), P.stop);
    await expect(readTorchZip(bytesSource(torchZip(pickle, { 0: storage }), "o.pt")))
      .rejects.toThrow(/o.pt: tensor "w" \(size \[2,3\], stride \[3,1\], offset 2\) reaches element 7 of storage 0, which holds 6/);
  });

  it("rejects a missing storage member and a checkpoint without tensors", async () => {
    const pickle = concat(P.proto, stateDictPickle([{ name: "w", key: "9", numel: 6, offset: 0, size: [6], stride: [1] }]), P.stop);
    await expect(readTorchZip(bytesSource(torchZip(pickle, {}), "m.pt"))).rejects.toThrow(/m.pt: storage member archive\/data\/9 is missing/);
    const empty = concat(P.proto, P.emptyDict, P.str("epoch"), P.int(3), P.setitem, P.stop);
    await expect(readTorchZip(bytesSource(torchZip(empty, {}), "e.pt"))).rejects.toThrow(/e.pt: no tensors found in the checkpoint \(it holds a dict with keys "epoch"/);
  });

  it("decodes half storages and skips complex ones with a reason", async () => {
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // 1.0, -2.0
    const pickle = concat(P.proto, stateDictPickle([
      { name: "h", key: "0", storage: "HalfStorage", numel: 2, offset: 0, size: [2], stride: [1] },
      { name: "c", key: "1", storage: "ComplexFloatStorage", numel: 1, offset: 0, size: [1], stride: [1] },
    ]), P.stop);
    const index = await readTorchZip(bytesSource(torchZip(pickle, { 0: half, 1: new Uint8Array(8) }), "h.pt"));
    expect(describeIndex(index)).toEqual([{ name: "h", shape: [2], dtype: "F16" }]);
    expect(Array.from(await readAll(index.tensors[0]!))).toEqual([1, -2]);
    expect(index.skipped).toEqual([{ name: "c", reason: "complex dtype complex64 has no real-valued spectrum to analyze" }]);
  });
});

describe.skipIf(!requireShared("PyTorch files of the format series and stories260K"))("PyTorch files", () => {
  const formats = (...parts: string[]): string => sharedPath("models/series/formats", ...parts);

  it.each([
    ["mlp", ["mlp.pt", "mlp.legacy.pt", "mlp/pytorch_model.bin"]],
    ["cnn", ["cnn.pt", "cnn.legacy.pt", "cnn/pytorch_model.bin"]],
  ] as const)("%s: every PyTorch container equals the safetensors file", async (model, files) => {
    const reference = await readSafetensors(fileBytes(formats(`${model}.safetensors`)));
    for (const file of files) {
      const index = await openTensorIndex(fileBytes(formats(file)));
      expect(index.format).toBe("pytorch");
      expect(index.metadata.container).toBe(file.includes("legacy") ? "legacy" : "zip");
      expect(describeIndex(index)).toEqual(describeIndex(reference));
      for (const [i, tensor] of index.tensors.entries()) {
        expect(maxAbsDiff(await readAll(tensor), await readAll(reference.tensors[i]!))).toBe(0);
      }
    }
  });

  it("reads only the bytes asked for (stored zip members are ranges of the file)", async () => {
    const source = countingSource(fileBytes(formats("mlp.pt")));
    const index = await readTorchZip(source);
    const before = source.bytesRead();
    expect(before).toBeLessThan(80_000);
    const fc1 = index.tensors.find((t) => t.name === "fc1.weight")!;
    await fc1.read(784 * 100, 784);
    expect(source.reads.at(-1)![1]).toBe(784 * 4);
    expect(source.bytesRead() - before).toBeLessThan(784 * 4 + 100);
  });

  it("stories260K: zip and legacy checkpoints equal the safetensors file (lm_head shares the embedding storage)", async () => {
    const reference = await readSafetensors(fileBytes(sharedPath("models/real/llama2c-stories260K/stories260K.safetensors")));
    const byName = new Map(reference.tensors.map((t) => [t.name, t]));
    for (const file of ["pytorch_model.bin", "stories260K_legacy.pt"]) {
      const index = await openTensorIndex(fileBytes(sharedPath("models/real/pytorch-stories260K", file)));
      expect(index.tensors.length).toBe(48);
      expect(index.skipped).toEqual([]);
      for (const tensor of index.tensors) {
        const expected = byName.get(tensor.name)!;
        expect(expected, tensor.name).toBeDefined();
        expect([...tensor.shape]).toEqual([...expected.shape]);
        expect(maxAbsDiff(await readAll(tensor), await readAll(expected))).toBe(0);
      }
    }
  });

  it("legacy reader refuses a zip checkpoint and the zip reader a legacy one, precisely", async () => {
    await expect(readTorchLegacy(fileBytes(formats("mlp.pt")))).rejects.toThrow(/mlp.pt: .*pickle/);
    await expect(readTorchZip(fileBytes(formats("mlp.legacy.pt")))).rejects.toThrow(/mlp.legacy.pt: invalid zip archive: no end-of-central-directory record/);
  });
});

describe.skipIf(!requireShared("not-a-model files"))("files that are not models", () => {
  const file = (name: string): string => sharedPath("models/real/not-a-model", name);
  it.each([
    ["notorch.pt", /notorch.pt: zip archive that is neither a PyTorch checkpoint \(no <prefix>\/data.pkl\) nor a NumPy .npz .*members results\/README.txt/],
    ["pytorch_model.bin", /pytorch_model.bin: not a model file alphawatch can read \(it is JSON text, not a model: .*Repository not found/],
    ["model.safetensors", /model.safetensors: not a model file alphawatch can read \(it is a Git LFS pointer.*git lfs pull/],
    ["truncated.safetensors", /truncated.safetensors: invalid safetensors file: header length 4984 runs past the end of the file \(1000 bytes\): truncated download\?/],
    ["empty.safetensors", /empty.safetensors: file is empty, not a model/],
    ["model.onnx", /model.onnx: not a model file alphawatch can read \(it is an HTML page\)/],
  ])("rejects %s with a precise FormatError", async (name, message) => {
    const attempt = openTensorIndex(fileBytes(file(name)));
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(message);
  });
  it("rejects the raw llama2.c checkpoint as unrecognised content", async () => {
    await expect(openTensorIndex(fileBytes(sharedPath("models/real/llama2c-stories260K/stories260K.bin"))))
      .rejects.toThrow(/stories260K.bin: not a model file alphawatch can read \(unrecognised content, first bytes 40 00 00 00/);
  });
});
