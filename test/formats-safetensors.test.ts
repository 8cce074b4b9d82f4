import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesSource } from "../core/formats/byte-source.js";
import { FormatError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import {
  F4_E2M1, F6_E2M3, F6_E3M2, F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0,
} from "../core/formats/dtype.js";
import { describeIndex, fileBytes, maxAbsDiff, readAll } from "./formats-1-sources.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const samples = (file: string): string => sharedPath("models/real/safetensors-spec-samples", file);

interface SampleTensor { name: string; dtype: string; shape: number[]; first_values?: unknown[] }
interface Sample { file: string; valid: boolean; tensors?: SampleTensor[]; metadata?: Record<string, string> }

/** Decodes one byte (or packed code) through an element type. */
function byteValue(type: typeof F8_E4M3, byte: number): number {
  const out = new Float64Array(1);
  type.decode(new Uint8Array([byte]), 1, out, 0);
  return out[0]!;
}

describe("minifloat decoders", () => {
  it("F8_E4M3 (E4M3FN): bias 7, subnormals, max 448, only S.1111.111 is NaN", () => {
    expect(byteValue(F8_E4M3, 0x38)).toBe(1);
    expect(byteValue(F8_E4M3, 0x7e)).toBe(448);
    expect(byteValue(F8_E4M3, 0xfe)).toBe(-448);
    expect(byteValue(F8_E4M3, 0x01)).toBe(2 ** -9);
    expect(byteValue(F8_E4M3, 0x07)).toBe(7 * 2 ** -9);
    expect(byteValue(F8_E4M3, 0x78)).toBe(256);
    expect(byteValue(F8_E4M3, 0x7f)).toBeNaN();
    expect(byteValue(F8_E4M3, 0xff)).toBeNaN();
    expect(Object.is(byteValue(F8_E4M3, 0x80), -0)).toBe(true);
  });
  it("F8_E5M2: IEEE-like infinities and NaNs, max 57344, min subnormal 2^-16", () => {
    expect(byteValue(F8_E5M2, 0x3c)).toBe(1);
    expect(byteValue(F8_E5M2, 0x7b)).toBe(57344);
    expect(byteValue(F8_E5M2, 0x7c)).toBe(Infinity);
    expect(byteValue(F8_E5M2, 0xfc)).toBe(-Infinity);
    expect(byteValue(F8_E5M2, 0x7d)).toBeNaN();
    expect(byteValue(F8_E5M2, 0x01)).toBe(2 ** -16);
  });
  it("FNUZ variants: 0x80 is the only NaN, no infinities", () => {
    expect(byteValue(F8_E4M3FNUZ, 0x80)).toBeNaN();
    expect(byteValue(F8_E4M3FNUZ, 0x7f)).toBe(240);
    expect(byteValue(F8_E4M3FNUZ, 0xff)).toBe(-240);
    expect(byteValue(F8_E4M3FNUZ, 0x01)).toBe(2 ** -10);
    expect(byteValue(F8_E5M2FNUZ, 0x80)).toBeNaN();
    expect(byteValue(F8_E5M2FNUZ, 0x7f)).toBe(57344);
    expect(byteValue(F8_E5M2FNUZ, 0x7c)).toBe(32768);
    expect(byteValue(F8_E5M2FNUZ, 0x01)).toBe(2 ** -17);
  });
  it("F8_E8M0: 2^(code-127), 0xFF NaN", () => {
    expect(byteValue(F8_E8M0, 127)).toBe(1);
    expect(byteValue(F8_E8M0, 0)).toBe(2 ** -127);
    expect(byteValue(F8_E8M0, 254)).toBe(2 ** 127);
    expect(byteValue(F8_E8M0, 255)).toBeNaN();
  });
  it("F4 E2M1 and the F6 types decode every code of the MX tables", () => {
    const decode = (type: typeof F4_E2M1, code: number): number => {
      const out = new Float64Array(1);
      type.decode(new Uint8Array([code, 0]), 0, 1, out, 0);
      return out[0]!;
    };
    expect(Array.from({ length: 16 }, (_, c) => decode(F4_E2M1, c)))
      .toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect(decode(F6_E2M3, 0b011111)).toBe(7.5);
    expect(decode(F6_E2M3, 0b000001)).toBe(0.125);
    expect(decode(F6_E2M3, 0b101000)).toBe(-1);
    expect(decode(F6_E3M2, 0b011111)).toBe(28);
    expect(decode(F6_E3M2, 0b000001)).toBe(0.0625);
    expect(decode(F6_E3M2, 0b001100)).toBe(1);
  });
  it("packed elements are read from a little-endian bit stream at any element offset", () => {
    // Six-bit codes 1..8 packed LSB first.
    let stream = 0n;
    for (let i = 0; i < 8; i++) stream |= BigInt(i + 1) << BigInt(6 * i);
    const bytes = new Uint8Array(6);
    for (let i = 0; i < 6; i++) bytes[i] = Number((stream >> BigInt(8 * i)) & 0xffn);
    const out = new Float64Array(5);
    F6_E2M3.decode(bytes.subarray(2), 16 - 16 + 2, 5, out, 0); // elements 3..7 start at bit 18 = byte 2, bit 2
    expect(Array.from(out)).toEqual([4, 5, 6, 7, 8].map((code) => decode6(code)));
    function decode6(code: number): number {
      const one = new Float64Array(1);
      F6_E2M3.decode(new Uint8Array([code, 0]), 0, 1, one, 0);
      return one[0]!;
    }
  });
});

describe.skipIf(!requireShared("safetensors spec samples and models"))("safetensors against the spec samples", () => {
  const manifest = hasShared
    ? (JSON.parse(readFileSync(samples("manifest.json"), "utf8")) as { files: Sample[] })
    : { files: [] };
  const valid = manifest.files.filter((f) => f.valid);
  const invalid = manifest.files.filter((f) => !f.valid);

  it("has 31 valid and 20 invalid samples", () => {
    expect(valid.length).toBe(31);
    expect(invalid.length).toBe(20);
  });

  it.each(valid.map((f) => [f.file, f] as const))("reads %s with its first values", async (_file, sample) => {
    const index = await readSafetensors(fileBytes(samples(sample.file)));
    const byName = new Map(index.tensors.map((t) => [t.name, t]));
    const skippedByName = new Map(index.skipped.map((s) => [s.name, s.reason]));
    expect(index.tensors.length + index.skipped.length).toBe(
      sample.file === "header_large.safetensors" ? 7500 : sample.tensors!.length,
    );
    for (const expected of sample.tensors!) {
      if (expected.dtype === "C64") {
        expect(skippedByName.get(expected.name)).toMatch(/complex dtype/);
        continue;
      }
      const tensor = byName.get(expected.name)!;
      expect(tensor, expected.name).toBeDefined();
      expect(tensor.dtype).toBe(expected.dtype);
      expect([...tensor.shape]).toEqual(expected.shape);
      if (expected.first_values === undefined) continue;
      const values = Array.from(await tensor.read(0, expected.first_values.length));
      const wanted = expected.first_values.map((v) => (v === true ? 1 : v === false ? 0 : v === "NaN" ? NaN : (v as number)));
      expect(values).toEqual(wanted);
    }
    if (sample.metadata !== undefined) expect(index.metadata).toEqual(sample.metadata);
  });

  it("decodes the sub-byte samples (bit order: little-endian bit stream, low nibble first)", async () => {
    const read = async (file: string): Promise<number[]> => Array.from(await readAll((await readSafetensors(fileBytes(samples(file)))).tensors[0]!));
    expect(await read("dtype_F4.safetensors")).toEqual([0, 1, 1, -1, 0.5, 6, 0, 0]);
    expect(await read("dtype_F6_E2M3.safetensors")).toEqual([1, 0, 0.25, -0]);
    expect(await read("dtype_F6_E3M2.safetensors")).toEqual([1, 0, 0.1875, -2]);
    const all = await readSafetensors(fileBytes(samples("all_dtypes.safetensors")));
    const f6 = all.tensors.find((t) => t.name === "t_F6_E3M2")!;
    expect(Array.from(await f6.read(1, 3))).toEqual([0, 0.1875, -2]);
  });

  const expectedProblems: Record<string, RegExp> = {
    "header_len_past_end.safetensors": /header length \d+ runs past the end of the file/,
    "header_len_huge.safetensors": /header length 9223372036854775813 exceeds the 100000000-byte limit/,
    "header_too_small.safetensors": /file is 3 bytes, shorter than the 8-byte header length/,
    "header_not_utf8.safetensors": /header is not valid UTF-8/,
    "header_not_json.safetensors": /header is not valid JSON/,
    "header_not_object.safetensors": /header JSON is not an object/,
    "unknown_dtype.safetensors": /has unknown dtype "F128"/,
    "negative_shape.safetensors": /has a negative dimension -1/,
    "missing_field.safetensors": /has no "shape" array/,
    "metadata_not_strings.safetensors": /__metadata__ value of "epoch" is not a string/,
    "dtype_shape_mismatch.safetensors": /needs 16 bytes, data_offsets give 12/,
    "offsets_overlap.safetensors": /overlaps the previous tensor/,
    "offsets_gap.safetensors": /gap in the byte buffer before tensor/,
    "offsets_out_of_bounds.safetensors": /tensor data runs past the end of the file/,
    "offsets_reversed.safetensors": /data_offsets \[16, 0\] that end before they begin/,
    "trailing_bytes.safetensors": /8 trailing bytes after the last tensor/,
    "truncated_data.safetensors": /tensor data runs past the end of the file \(needs \d+ bytes after the header, file has \d+\)/,
    "duplicate_keys.safetensors": /duplicate key "a" in the header/,
    "shape_overflow.safetensors": /whose element count overflows/,
    "f4_odd_count.safetensors": /is not a whole number of bytes/,
  };

  it.each(invalid.map((f) => [f.file] as const))("rejects %s naming the file and the problem", async (file) => {
    const problem = expectedProblems[file];
    expect(problem, `no expected message for ${file}`).toBeDefined();
    const attempt = readSafetensors(fileBytes(samples(file)));
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(file);
    await expect(attempt).rejects.toThrow(problem!);
  });

  it("reads the 7500-tensor header beyond the first MiB", async () => {
    const index = await openTensorIndex(fileBytes(samples("header_large.safetensors")));
    expect(index.tensors.length).toBe(7500);
    expect(Array.from(await index.tensors[7499]!.read(0, 2))).toHaveLength(2);
  });

  it("reads stories260K (real LLM names, GQA shapes)", async () => {
    const index = await openTensorIndex(fileBytes(sharedPath("models/real/llama2c-stories260K/stories260K.safetensors")));
    expect(index.format).toBe("safetensors");
    expect(index.tensors.length).toBe(48);
    const shape = (name: string): number[] => [...index.tensors.find((t) => t.name === name)!.shape];
    expect(shape("model.embed_tokens.weight")).toEqual([512, 64]);
    expect(shape("model.layers.0.self_attn.k_proj.weight")).toEqual([32, 64]);
    expect(shape("model.layers.4.mlp.down_proj.weight")).toEqual([64, 172]);
    expect(shape("lm_head.weight")).toEqual([512, 64]);
  });

  const formats = (file: string): string => sharedPath("models/series/formats", file);
  const seriesManifest = hasShared
    ? (JSON.parse(readFileSync(formats("manifest.json"), "utf8")) as { files: Array<{ file: string; max_abs_diff_vs_f32: number; tensors: SampleTensor[] }> })
    : { files: [] };

  it.each(["mlp", "cnn"])("%s: F16 and BF16 files hold the F32 weights rounded", async (model) => {
    const reference = await readSafetensors(fileBytes(formats(`${model}.safetensors`)));
    for (const variant of ["f16", "bf16"]) {
      const entry = seriesManifest.files.find((f) => f.file === `${model}.${variant}.safetensors`)!;
      const index = await readSafetensors(fileBytes(formats(entry.file)));
      expect(describeIndex(index)).toEqual(entry.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })));
      let worst = 0;
      for (const [i, tensor] of index.tensors.entries()) {
        worst = Math.max(worst, maxAbsDiff(await readAll(tensor), await readAll(reference.tensors[i]!)));
      }
      expect(worst).toBeCloseTo(entry.max_abs_diff_vs_f32, 12);
    }
  });
});

describe("safetensors built in memory", () => {
  function file(header: object, data: Uint8Array): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  }
  it("surfaces __metadata__ and keeps header order", async () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const bytes = file({ b: { dtype: "F32", shape: [2], data_offsets: [8, 16] }, __metadata__: { k: "v" }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data);
    const index = await readSafetensors(bytesSource(bytes, "m.safetensors"));
    expect(index.tensors.map((t) => t.name)).toEqual(["b", "a"]);
    expect(index.metadata).toEqual({ k: "v" });
    expect(Array.from(await index.tensors[0]!.read(0, 2))).toEqual([3, 4]);
  });
  it("rejects element ranges outside the tensor with a FormatError", async () => {
    const bytes = file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));
    const index = await readSafetensors(bytesSource(bytes, "m.safetensors"));
    await expect(index.tensors[0]!.read(1, 2)).rejects.toThrow(/m.safetensors: tensor "a": element range 1\+2 outside its 2 elements/);
  });
  it("does not mistake a key inside a metadata string for a duplicate tensor", async () => {
    const bytes = file({ __metadata__: { note: "\"a\": {\"x" }, a: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1));
    const index = await readSafetensors(bytesSource(bytes, "m.safetensors"));
    expect(index.tensors.map((t) => t.name)).toEqual(["a"]);
  });
});
