/**
 * A minimal GGUF writer for tests: builds files with chosen metadata, tensor infos and data so that
 * the reader's edge cases (value types, nesting, alignment, refused headers) can be exercised.
 */

export type GgufValue =
  | { type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64" | "bool"; value: number | boolean }
  | { type: "u64" | "i64"; value: bigint }
  | { type: "string"; value: string }
  | { type: "array"; elementType: GgufValue["type"]; items: GgufValue[] }
  /** An array of `count` strings generated on the fly (token lists). */
  | { type: "stringArray"; count: number; item: (index: number) => string };

export interface GgufTensorSpec {
  name: string;
  ne: number[];
  typeId: number;
  data: Uint8Array;
  /** Data offset to write; computed (aligned, in order) when absent. */
  offset?: bigint;
}

export interface GgufSpec {
  version?: number;
  alignment?: number;
  metadata?: [string, GgufValue][];
  tensors?: GgufTensorSpec[];
}

const TYPE_IDS: Record<string, number> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, stringArray: 9, u64: 10, i64: 11, f64: 12,
};

class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.byteLength;
  }
  scalar(size: number, set: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    set(new DataView(bytes.buffer));
    this.push(bytes);
  }
  u32(value: number): void {
    this.scalar(4, (v) => v.setUint32(0, value, true));
  }
  u64(value: bigint | number): void {
    this.scalar(8, (v) => v.setBigUint64(0, BigInt(value), true));
  }
  string(text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.u64(bytes.byteLength);
    this.push(bytes);
  }
  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    if (padding > 0) this.push(new Uint8Array(padding));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
}

function writeValueBody(w: ByteWriter, value: GgufValue): void {
  switch (value.type) {
    case "u8": w.scalar(1, (v) => v.setUint8(0, Number(value.value))); break;
    case "i8": w.scalar(1, (v) => v.setInt8(0, Number(value.value))); break;
    case "bool": w.scalar(1, (v) => v.setUint8(0, value.value ? 1 : 0)); break;
    case "u16": w.scalar(2, (v) => v.setUint16(0, Number(value.value), true)); break;
    case "i16": w.scalar(2, (v) => v.setInt16(0, Number(value.value), true)); break;
    case "u32": w.u32(Number(value.value)); break;
    case "i32": w.scalar(4, (v) => v.setInt32(0, Number(value.value), true)); break;
    case "f32": w.scalar(4, (v) => v.setFloat32(0, Number(value.value), true)); break;
    case "f64": w.scalar(8, (v) => v.setFloat64(0, Number(value.value), true)); break;
    case "u64": w.u64(value.value); break;
    case "i64": w.scalar(8, (v) => v.setBigInt64(0, value.value, true)); break;
    case "string": w.string(value.value); break;
    case "array":
      w.u32(TYPE_IDS[value.elementType]!);
      w.u64(value.items.length);
      // Elements of a nested array are each (element type, count, elements), as writeValueBody writes them.
      for (const item of value.items) writeValueBody(w, item);
      break;
    case "stringArray":
      w.u32(8);
      w.u64(value.count);
      for (let i = 0; i < value.count; i++) w.string(value.item(i));
      break;
  }
}

export function buildGguf(spec: GgufSpec): Uint8Array {
  const alignment = spec.alignment ?? 32;
  const metadata = [...(spec.metadata ?? [])];
  if (spec.alignment !== undefined && !metadata.some(([key]) => key === "general.alignment")) {
    metadata.push(["general.alignment", { type: "u32", value: spec.alignment }]);
  }
  const tensors = spec.tensors ?? [];
  const w = new ByteWriter();
  w.push(new TextEncoder().encode("GGUF"));
  w.u32(spec.version ?? 3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    w.u32(TYPE_IDS[value.type]!);
    writeValueBody(w, value);
  }
  let offset = 0n;
  const offsets: bigint[] = [];
  for (const tensor of tensors) {
    const own = tensor.offset ?? offset;
    offsets.push(own);
    w.string(tensor.name);
    w.u32(tensor.ne.length);
    for (const dim of tensor.ne) w.u64(dim);
    w.u32(tensor.typeId);
    w.u64(own);
    const end = own + BigInt(tensor.data.byteLength);
    offset = ((end + BigInt(alignment) - 1n) / BigInt(alignment)) * BigInt(alignment);
  }
  w.pad(alignment);
  const dataStart = w.length;
  for (let i = 0; i < tensors.length; i++) {
    const target = dataStart + Number(offsets[i]!);
    if (target > w.length) w.push(new Uint8Array(target - w.length));
    if (target === w.length) w.push(tensors[i]!.data);
  }
  return w.bytes();
}

/** F32 little-endian bytes of `values`. */
export function f32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return out;
}
