/**
 * Test sources for the ONNX, TF.js and Keras readers: a file read into memory whose siblings
 * (external data, weight shards) are other files of its folder, and a mutable-bytes variant for
 * fuzzing.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";

/** The file at `filePath`, with siblings resolved in its folder (undefined when absent). */
export function folderSource(filePath: string, overrides?: ReadonlyMap<string, Uint8Array>): ByteSource {
  const bytes = overrides?.get(path.basename(filePath)) ?? new Uint8Array(readFileSync(filePath));
  const base = bytesSource(bytes, filePath);
  return {
    name: filePath,
    size: base.size,
    read: base.read,
    async sibling(relativePath) {
      const target = path.join(path.dirname(filePath), relativePath);
      if (overrides?.has(path.basename(target))) return folderSource(target, overrides);
      return existsSync(target) ? folderSource(target, overrides) : undefined;
    },
  };
}

/** One protobuf field for `encodeMessage`. */
export type ProtoTestField =
  | { n: number; varint: number }
  | { n: number; bytes: Uint8Array }
  | { n: number; text: string }
  | { n: number; message: ProtoTestField[] };

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Serializes fields in the protobuf wire format (a writer for test fixtures only). */
export function encodeMessage(fields: ProtoTestField[]): Uint8Array {
  const chunks: number[] = [];
  for (const field of fields) {
    if ("varint" in field) {
      chunks.push(...varintBytes(field.n * 8), ...varintBytes(field.varint));
      continue;
    }
    const payload = "bytes" in field ? field.bytes : "text" in field ? new TextEncoder().encode(field.text) : encodeMessage(field.message);
    chunks.push(...varintBytes(field.n * 8 + 2), ...varintBytes(payload.byteLength), ...payload);
  }
  return Uint8Array.from(chunks);
}

/** Little-endian float32 bytes of `values`. */
export function float32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** Packed varints (a repeated int field). */
export function packedVarints(values: readonly number[]): Uint8Array {
  return Uint8Array.from(values.flatMap(varintBytes));
}
