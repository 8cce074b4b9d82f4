import { readdirSync } from "node:fs";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../core/formats/byte-source.js";
import { FormatError, UnsupportedError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { parsePythonLiteral, PyTuple, readNpy, readNpyHeader } from "../core/formats/npy.js";
import { readNpz } from "../core/formats/npz.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { readDirectoryOfArrays } from "../core/formats/directory.js";
import { countingSource, describeIndex, fileBytes, maxAbsDiff, readAll } from "./formats-1-sources.js";
import { requireShared, sharedPath } from "./shared.js";

/** A .npy file with the given header dict text and data, in format version `major`. */
function npyBytes(dict: string, data: Uint8Array, major = 1): Uint8Array {
  const prefixLength = major === 1 ? 10 : 12;
  let header = dict;
  while ((prefixLength + header.length + 1) % 64 !== 0) header += " ";
  header += "\n";
  const encoded = new TextEncoder().encode(header);
  const out = new Uint8Array(prefixLength + encoded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, encoded.length, true);
  else view.setUint32(8, encoded.length, true);
  out.set(encoded, prefixLength);
  out.set(data, prefixLength + encoded.length);
  return out;
}

const f64 = (values: number[]): Uint8Array => new Uint8Array(new Float64Array(values).buffer);

describe("npy header parsing", () => {
  it("parses the dict literal without evaluating it", () => {
    const value = parsePythonLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (300, 784), }") as Map<string, unknown>;
    expect(value.get("descr")).toBe("<f4");
    expect(value.get("fortran_order")).toBe(false);
    expect((value.get("shape") as PyTuple).items).toEqual([300, 784]);
    expect(((parsePythonLiteral("{'shape': (5,)}") as Map<string, PyTuple>).get("shape"))!.items).toEqual([5]);
    expect(() => parsePythonLiteral("{'descr': __import__('os').system('x')}")).toThrow(/unexpected/);
  });

  it.each([1, 2, 3])("reads format version %i", async (major) => {
    const bytes = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", f64([1, 2, 3, 4, 5, 6]), major);
    const index = await readNpy(bytesSource(bytes, "dir/w.npy"));
    expect(describeIndex(index)).toEqual([{ name: "w", shape: [2, 3], dtype: "F64" }]);
    expect(Array.from(await index.tensors[0]!.read(2, 3))).toEqual([3, 4, 5]);
    expect((await readNpyHeader(bytesSource(bytes, "w.npy"))).version).toBe(`${major}.0`);
  });

  it("reads a 3-D Fortran-order array in row-major order", async () => {
    // Logical a[i][j][k] = 100i + 10j + k, shape (2, 3, 4), stored column-major.
    const stored: number[] = [];
    for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) stored.push(100 * i + 10 * j + k);
    const bytes = npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", f64(stored));
    const tensor = (await readNpy(bytesSource(bytes, "a.npy"))).tensors[0]!;
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected.push(100 * i + 10 * j + k);
    expect(Array.from(await readAll(tensor))).toEqual(expected);
    expect(Array.from(await tensor.read(5, 9))).toEqual(expected.slice(5, 14));
  });

  it("reads integer, big-endian and scalar arrays", async () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setInt32(0, -7, false);
    new DataView(be.buffer).setInt32(4, 9, false);
    const ints = await readNpy(bytesSource(npyBytes("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", be), "i.npy"));
    expect(ints.tensors[0]!.dtype).toBe("I32");
    expect(Array.from(await readAll(ints.tensors[0]!))).toEqual([-7, 9]);
    const scalar = await readNpy(bytesSource(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", f64([2.5])), "s.npy"));
    expect(scalar.tensors[0]!.shape).toEqual([]);
    expect(Array.from(await scalar.tensors[0]!.read(0, 1))).toEqual([2.5]);
  });

  it.each([
    ["bad magic", new Uint8Array(64), FormatError, /s.npy: invalid .npy file: magic string/],
    ["data shorter than the shape", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }", f64([1])), FormatError, /array data needs 80 bytes, the file has 8 after the header/],
    ["no shape", npyBytes("{'descr': '<f8', 'fortran_order': False, }", f64([1])), FormatError, /header has no 'shape' tuple/],
    ["negative dimension", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", f64([1])), FormatError, /invalid dimension -1/],
    ["not a dict", npyBytes("[1, 2]", f64([1])), FormatError, /header is not a dict/],
    ["object arrays", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", f64([1])), UnsupportedError, /NumPy dtype "\|O" is not supported/],
    ["complex arrays", npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", f64([1])), UnsupportedError, /"<c8" is not supported/],
    ["structured arrays", npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", f64([1])), UnsupportedError, /structured NumPy arrays/],
  ] as const)("rejects %s", async (_what, bytes, type, message) => {
    const attempt = readNpy(bytesSource(bytes, "s.npy"));
    await expect(attempt).rejects.toBeInstanceOf(type);
    await expect(attempt).rejects.toThrow(message);
  });
});

describe("npz in memory", () => {
  const a = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64([1, 2, 3, 4]));
  const big = new Float64Array(50_000).map((_, i) => Math.sin(i) * (i % 7));
  const b = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (500, 100), }", new Uint8Array(big.buffer));

  it.each([0, 6])("reads stored and deflated members (level %i)", async (level) => {
    const zip = zipSync({ "a.npy": a, "layer.weight.npy": b }, { level: level as 0 | 6 });
    const index = await openTensorIndex(bytesSource(zip, "m.npz"));
    expect(index.format).toBe("npz");
    expect(describeIndex(index)).toEqual([
      { name: "a", shape: [2, 2], dtype: "F64" },
      { name: "layer.weight", shape: [500, 100], dtype: "F64" },
    ]);
    expect(Array.from(await readAll(index.tensors[0]!))).toEqual([1, 2, 3, 4]);
    expect(maxAbsDiff(await readAll(index.tensors[1]!), big)).toBe(0);
  });

  it("streams a deflated member: front-to-back row blocks inflate it once, a backward read restarts", async () => {
    const zip = zipSync({ "w.npy": b }, { level: 6 });
    const source = countingSource(bytesSource(zip, "m.npz"));
    const tensor = (await readNpz(source)).tensors[0]!;
    const before = source.bytesRead();
    for (let row = 0; row < 500; row += 50) {
      const block = await tensor.read(row * 100, 50 * 100);
      expect(maxAbsDiff(block, big.subarray(row * 100, (row + 50) * 100))).toBe(0);
    }
    const streamed = source.bytesRead() - before;
    expect(streamed).toBeLessThanOrEqual(zip.byteLength);
    expect(Array.from(await tensor.read(3, 2))).toEqual([big[3], big[4]]);
  });

  it("rejects a deflated member that declares more bytes than deflate can produce", async () => {
    const zip = zipSync({ "w.npy": a }, { level: 6 });
    // Patch the uncompressed size in the central directory to 1 TB.
    const view = new DataView(zip.buffer);
    let cd = zip.byteLength - 22;
    cd = view.getUint32(cd + 16, true);
    view.setUint32(cd + 24, 0xfffffff0, true);
    await expect(readNpz(bytesSource(zip, "m.npz"))).rejects.toThrow(/m.npz:w.npy: deflated member declares 4294967280 bytes from \d+ compressed bytes, more than deflate can produce/);
  });

  it("refuses a zip whose members are not all .npy with the member list", async () => {
    const zip = zipSync({ "a.npy": a, "notes.txt": new TextEncoder().encode("hi") }, { level: 0 });
    const attempt = openTensorIndex(bytesSource(zip, "x.zip"));
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(/x.zip: zip archive that is neither a PyTorch checkpoint .* members a.npy, notes.txt/);
  });
});

describe.skipIf(!requireShared("NumPy files of the format series"))("NumPy files of the format series", () => {
  const formats = (...parts: string[]): string => sharedPath("models/series/formats", ...parts);

  it.each(["mlp", "cnn"])("%s: .npz and compressed .npz equal the safetensors file", async (model) => {
    const reference = await readSafetensors(fileBytes(formats(`${model}.safetensors`)));
    for (const file of [`${model}.npz`, `${model}.compressed.npz`]) {
      const index = await openTensorIndex(fileBytes(formats(file)));
      expect(index.format).toBe("npz");
      expect(describeIndex(index)).toEqual(describeIndex(reference));
      for (const [i, tensor] of index.tensors.entries()) {
        expect(maxAbsDiff(await readAll(tensor), await readAll(reference.tensors[i]!))).toBe(0);
      }
    }
  });

  it("the npy/ folder is the MLP state dict, one tensor per file", async () => {
    const reference = await readSafetensors(fileBytes(formats("mlp.safetensors")));
    const files = readdirSync(formats("npy")).filter((f) => f.endsWith(".npy")).map((f) => fileBytes(formats("npy", f)));
    const index = await readDirectoryOfArrays(files, formats("npy"));
    expect(index.tensors.map((t) => t.name).sort()).toEqual(reference.tensors.map((t) => t.name).sort());
    for (const tensor of index.tensors) {
      const expected = reference.tensors.find((t) => t.name === tensor.name)!;
      expect([...tensor.shape]).toEqual([...expected.shape]);
      expect(maxAbsDiff(await readAll(tensor), await readAll(expected))).toBe(0);
    }
  });

  it("variants: big-endian f4, Fortran order and float16 decode to the same weights", async () => {
    const reference = await readSafetensors(fileBytes(formats("mlp.safetensors")));
    const fc1 = await readAll(reference.tensors.find((t) => t.name === "fc1.weight")!);
    const fc2 = await readAll(reference.tensors.find((t) => t.name === "fc2.weight")!);
    for (const variant of ["fc1.weight.big-endian-f4.npy", "fc1.weight.fortran-order.npy"]) {
      const index = await openTensorIndex(fileBytes(formats("npy", "variants", variant)));
      expect(index.format).toBe("npy");
      expect([...index.tensors[0]!.shape]).toEqual([300, 784]);
      expect(maxAbsDiff(await readAll(index.tensors[0]!), fc1)).toBe(0);
    }
    const fortran = (await openTensorIndex(fileBytes(formats("npy", "variants", "fc1.weight.fortran-order.npy")))).tensors[0]!;
    expect(maxAbsDiff(await fortran.read(784 * 7 + 3, 1000), fc1.subarray(784 * 7 + 3, 784 * 7 + 1003))).toBe(0);
    const half = (await openTensorIndex(fileBytes(formats("npy", "variants", "fc2.weight.float16.npy")))).tensors[0]!;
    expect(half.dtype).toBe("F16");
    expect(maxAbsDiff(await readAll(half), fc2)).toBeCloseTo(0.00011554360389709473, 12);
  });
});
