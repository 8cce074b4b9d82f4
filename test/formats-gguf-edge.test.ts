import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { readGguf } from "../core/formats/gguf.js";
import { FormatError, UnsupportedError } from "../core/errors.js";
import { buildGguf, f32Bytes, type GgufSpec, type GgufTensorSpec } from "./formats-gguf-writer.js";

function source(spec: GgufSpec | Uint8Array): ByteSource {
  return bytesSource(spec instanceof Uint8Array ? spec : buildGguf(spec), "edge.gguf");
}

const f32Tensor = (name: string, ne: number[], values: number[]): GgufTensorSpec => ({ name, ne, typeId: 0, data: f32Bytes(values) });

/** Overwrites bytes of `file` at `at` (a copy). */
function patched(file: Uint8Array, at: number, write: (view: DataView) => void): Uint8Array {
  const copy = file.slice();
  write(new DataView(copy.buffer, at));
  return copy;
}

describe("GGUF metadata", () => {
  it("renders every value type as a string and summarises long arrays", async () => {
    const index = await readGguf(source({
      metadata: [
        ["u8", { type: "u8", value: 255 }],
        ["i8", { type: "i8", value: -5 }],
        ["u16", { type: "u16", value: 65535 }],
        ["i16", { type: "i16", value: -300 }],
        ["u32", { type: "u32", value: 4294967295 }],
        ["i32", { type: "i32", value: -2147483648 }],
        ["f32", { type: "f32", value: 0.1 }],
        ["f64", { type: "f64", value: 0.1 }],
        ["bool", { type: "bool", value: true }],
        ["u64", { type: "u64", value: 2n ** 63n + 1n }],
        ["i64", { type: "i64", value: -(2n ** 40n) }],
        ["string", { type: "string", value: "héllo \"quoted\"" }],
        ["ints", { type: "array", elementType: "i32", items: [1, 2, 3].map((value) => ({ type: "i32", value })) }],
        ["floats", { type: "array", elementType: "f32", items: Array.from({ length: 20 }, () => ({ type: "f32", value: 1 })) }],
        ["labels", { type: "array", elementType: "string", items: ["a", "b"].map((value) => ({ type: "string", value })) }],
        ["tokenizer.ggml.tokens", { type: "stringArray", count: 32000, item: (i) => `tok${i}` }],
        ["nested", {
          type: "array", elementType: "array", items: [
            { type: "array", elementType: "u8", items: [{ type: "u8", value: 1 }, { type: "u8", value: 2 }] },
            { type: "array", elementType: "string", items: [{ type: "string", value: "x" }] },
          ],
        }],
        ["many.nested", {
          type: "array", elementType: "array",
          items: Array.from({ length: 17 }, () => ({ type: "array", elementType: "u16", items: [{ type: "u16", value: 7 }] })),
        }],
        ["template", { type: "string", value: "x".repeat(70_000) }],
        ["__proto__", { type: "string", value: "ordinary key" }],
        ["after", { type: "u32", value: 42 }],
      ],
      tensors: [f32Tensor("w", [2, 2], [1, 2, 3, 4])],
    }));
    expect(index.metadata).toEqual({
      u8: "255", i8: "-5", u16: "65535", i16: "-300", u32: "4294967295", i32: "-2147483648",
      f32: "0.1", f64: "0.1", bool: "true", u64: "9223372036854775809", i64: "-1099511627776",
      string: "héllo \"quoted\"",
      ints: "[1, 2, 3]",
      floats: "[array of 20 float32]",
      labels: '["a", "b"]',
      "tokenizer.ggml.tokens": "[array of 32000 strings]",
      nested: '[[1, 2], ["x"]]',
      "many.nested": "[array of 17 arrays]",
      template: "[string of 70000 bytes]",
      ["__proto__"]: "ordinary key",
      after: "42",
    });
    expect(Object.hasOwn(index.metadata, "__proto__")).toBe(true);
    expect(Array.from(await index.tensors[0]!.read(0, 4))).toEqual([1, 2, 3, 4]);
  });

  it("refuses arrays nested deeper than 8 levels", async () => {
    let value: NonNullable<GgufSpec["metadata"]>[number][1] = { type: "array", elementType: "u8", items: [] };
    for (let depth = 0; depth < 9; depth++) value = { type: "array", elementType: "array", items: [value] };
    await expect(readGguf(source({ metadata: [["deep", value]] }))).rejects.toThrow(
      new FormatError('edge.gguf: invalid GGUF file: metadata "deep"[0][0][0][0][0][0][0][0] nests arrays deeper than 8 levels'),
    );
  });

  it("uses general.alignment for the data section and the tensor offsets", async () => {
    const index = await readGguf(source({
      alignment: 256,
      tensors: [f32Tensor("a", [3], [1, 2, 3]), f32Tensor("b", [2, 3, 4], Array.from({ length: 24 }, (_, i) => i))],
    }));
    expect(index.metadata["general.alignment"]).toBe("256");
    expect(index.tensors.map((t) => [t.name, t.shape])).toEqual([["a", [3]], ["b", [4, 3, 2]]]);
    expect(Array.from(await index.tensors[1]!.read(5, 4))).toEqual([5, 6, 7, 8]);
  });

  it("reads a file without tensors and a v2 file", async () => {
    const index = await readGguf(source({ version: 2, metadata: [["general.name", { type: "string", value: "x" }]] }));
    expect(index).toMatchObject({ format: "gguf", tensors: [], skipped: [], metadata: { "general.name": "x" } });
  });
});

describe("GGUF tensor types", () => {
  it("skips types it cannot dequantize, with the type's name and id", async () => {
    const index = await readGguf(source({
      tensors: [
        { name: "blk.0.attn_q.weight", ne: [256, 2], typeId: 16, data: new Uint8Array(66 * 2) },
        { name: "blk.0.attn_k.weight", ne: [256, 1], typeId: 34, data: new Uint8Array(54) },
        { name: "blk.0.attn_v.weight", ne: [4], typeId: 99, data: new Uint8Array(16) },
        f32Tensor("token_embd.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
      ],
    }));
    expect(index.skipped).toEqual([
      { name: "blk.0.attn_q.weight", reason: "GGUF tensor type IQ2_XXS (16) is not supported" },
      { name: "blk.0.attn_k.weight", reason: "GGUF tensor type TQ1_0 (34) is not supported" },
      { name: "blk.0.attn_v.weight", reason: "GGUF tensor type id 99 is not a known ggml type" },
    ]);
    expect(index.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([["token_embd.weight", "F32", [3, 2]]]);
  });

  it("reads the plain integer and float64 types", async () => {
    const i16 = new Uint8Array(8);
    new DataView(i16.buffer).setInt16(2, -7, true);
    const f64 = new Uint8Array(16);
    new DataView(f64.buffer).setFloat64(8, Math.PI, true);
    const index = await readGguf(source({
      tensors: [{ name: "i16", ne: [4], typeId: 25, data: i16 }, { name: "f64", ne: [2], typeId: 28, data: f64 }],
    }));
    expect(Array.from(await index.tensors[0]!.read(0, 4))).toEqual([0, -7, 0, 0]);
    expect(Array.from(await index.tensors[1]!.read(1, 1))).toEqual([Math.PI]);
  });
});

describe("GGUF header checks", () => {
  const valid = buildGguf({ metadata: [["k", { type: "u32", value: 1 }]], tensors: [f32Tensor("w", [4], [1, 2, 3, 4])] });
  // Byte positions in `valid`: magic 0, version 4, tensor count 8, kv count 16, key length 24.
  const reject = (bytes: Uint8Array, message: string, type: typeof FormatError | typeof UnsupportedError = FormatError) =>
    expect(readGguf(source(bytes))).rejects.toThrow(new type(message));

  it("refuses version 1, big-endian files and unknown versions", async () => {
    await reject(patched(valid, 4, (v) => v.setUint32(0, 1, true)), "edge.gguf: GGUF version 1 is not supported (only versions 2 and 3)", UnsupportedError);
    await reject(patched(valid, 4, (v) => v.setUint32(0, 3, false)), "edge.gguf: big-endian GGUF files are not supported", UnsupportedError);
    await reject(patched(valid, 4, (v) => v.setUint32(0, 7, true)), "edge.gguf: invalid GGUF file: unknown version 7 (expected 2 or 3)");
    await reject(patched(valid, 0, (v) => v.setUint8(0, 0x46)), 'edge.gguf: invalid GGUF file: magic is not "GGUF"');
    await reject(valid.subarray(0, 20), "edge.gguf: invalid GGUF file: file is 20 bytes, shorter than the 24-byte header");
  });

  it("checks counts and lengths against the file size before allocating", async () => {
    await expect(readGguf(source(patched(valid, 8, (v) => v.setBigUint64(0, 2n ** 40n, true))))).rejects.toThrow(
      /^edge\.gguf: invalid GGUF file: tensor count is 1099511627776, more than the \d+ tensor infos the rest of the file can hold$/,
    );
    await expect(readGguf(source(patched(valid, 16, (v) => v.setBigUint64(0, 2n ** 64n - 1n, true))))).rejects.toThrow(
      /metadata count is 18446744073709551615, more than the \d+ key\/value pairs the rest of the file can hold/,
    );
    await expect(readGguf(source(patched(valid, 24, (v) => v.setBigUint64(0, 2n ** 60n, true))))).rejects.toThrow(
      /length of key of metadata entry 0 is 1152921504606846976, more than the \d+ bytes left in the file/,
    );
    const hugeArray = buildGguf({ metadata: [["a", { type: "array", elementType: "u64", items: [{ type: "u64", value: 1n }] }]] });
    // The array length sits after magic+version+counts (24), key (8 + 1), value type (4), element type (4).
    await expect(readGguf(source(patched(hugeArray, 41, (v) => v.setBigUint64(0, 2n ** 62n, true))))).rejects.toThrow(
      /length of array metadata "a" is 4611686018427387904, more than the 1 uint64 elements the rest of the file can hold/,
    );
  });

  it("checks every length in a long string array (a token list) without decoding it", async () => {
    const tokens = buildGguf({ metadata: [["t", { type: "stringArray", count: 20, item: () => "ab" }]] });
    // First string length: header 24, key "t" (8 + 1), value type 4, element type 4, count 8.
    await expect(readGguf(source(patched(tokens, 49, (v) => v.setBigUint64(0, 2n ** 60n, true))))).rejects.toThrow(
      /^edge\.gguf: invalid GGUF file: length of metadata "t"\[0\] is 1152921504606846976, more than the \d+ bytes left in the file$/,
    );
    // The strings end at 24 + 9 + 4 + 4 + 8 + 20 * 10 = 249; cut inside the last one.
    expect(tokens.length).toBe(256);
    await expect(readGguf(source(tokens.subarray(0, 248)))).rejects.toThrow(/metadata "t"\[19\]/);
    expect((await readGguf(source(tokens))).metadata).toEqual({ t: "[array of 20 strings]" });
  });

  it("refuses malformed tensor infos and data layouts", async () => {
    const layouts: [GgufSpec, string][] = [
      [{ tensors: [{ ...f32Tensor("w", [4], [1, 2, 3, 4]), offset: 4n }] },
        'tensor "w" has data offset 4, not a multiple of the alignment 32'],
      [{ tensors: [f32Tensor("a", [8], new Array(8).fill(0)), { ...f32Tensor("b", [8], new Array(8).fill(0)), offset: 0n }] },
        'tensor "b" overlaps tensor "a" in the data section'],
      [{ tensors: [f32Tensor("w", [4], [1, 2, 3, 4]), f32Tensor("w", [4], [1, 2, 3, 4])] }, 'tensor "w" appears twice'],
      [{ tensors: [{ name: "q", ne: [48, 1], typeId: 8, data: new Uint8Array(64) }] },
        'tensor "q" (Q8_0) has rows of 48 elements, not a multiple of the block size 32'],
      [{ tensors: [f32Tensor("w", [1, 1, 1, 1, 1], [1])] }, 'tensor "w" has 5 dimensions (at most 4)'],
      [{ tensors: [f32Tensor("w", [2 ** 40, 2 ** 40], [1])] }, 'tensor "w" has dimensions [1099511627776,1099511627776] whose element count overflows'],
      [{ metadata: [["general.alignment", { type: "u32", value: 48 }]] }, "general.alignment must be a power-of-two uint32, got uint32 48"],
      [{ metadata: [["general.alignment", { type: "string", value: "32" }]] }, "general.alignment must be a power-of-two uint32, got string 32"],
      [{ metadata: [["k", { type: "u8", value: 1 }], ["k", { type: "u8", value: 2 }]] }, 'metadata key "k" appears twice'],
    ];
    for (const [spec, problem] of layouts) {
      await expect(readGguf(source(spec)), problem).rejects.toThrow(FormatError);
      await expect(readGguf(source(spec)), problem).rejects.toThrow(`edge.gguf: invalid GGUF file: ${problem}`);
    }
  });

  it("refuses an offset past the end of the file", async () => {
    // In `valid`: header 24, KV "k" u32 17 bytes, then name "w" (9), n_dims (4), ne (8), type (4): offset at 66.
    expect(valid.length).toBe(112);
    await reject(patched(valid, 66, (v) => v.setBigUint64(0, 1024n, true)),
      'edge.gguf: invalid GGUF file: tensor "w" (F32, 16 bytes at data offset 1024) runs past the end of the file (data section is 16 bytes from byte 96)');
    await reject(patched(valid, 66, (v) => v.setBigUint64(0, 2n ** 63n + 4n, true)),
      `edge.gguf: invalid GGUF file: tensor "w" has data offset ${2n ** 63n + 4n}, not a multiple of the alignment 32`);
  });

  it("refuses an unknown metadata value type and a truncated data section", async () => {
    // Value type of the first KV sits after the key "k" (24 + 8 + 1).
    await reject(patched(valid, 33, (v) => v.setUint32(0, 13, true)), 'edge.gguf: invalid GGUF file: metadata "k" has unknown value type 13');
    await expect(readGguf(source(valid.subarray(0, valid.length - 1)))).rejects.toThrow(/tensor "w" \(F32, 16 bytes at data offset 0\) runs past the end of the file/);
  });
});
