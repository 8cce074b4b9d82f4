/**
 * Test helpers for the ONNX and TF.js readers: a protobuf wire-format writer for hand-made ONNX
 * files (fields, packed varints), and float32 bytes (files are read through folder-source.ts).
 */

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
