/**
 * GGUF reader (ggml / llama.cpp model files), versions 2 and 3, little-endian.
 *
 * Layout (ggml docs/gguf.md; all integers little-endian):
 *   magic              4 bytes "GGUF"
 *   version            u32: 2 or 3 (v1 used u32 counts and lengths; v3 only added big-endian files,
 *                      which are recognised by a byte-swapped version and refused)
 *   tensor_count       u64
 *   metadata_kv_count  u64
 *   metadata_kv[]      key: string, value_type: u32, value
 *   tensor_info[]      name: string, n_dims: u32 (<= 4), ne: u64[n_dims] (ne[0] varies fastest),
 *                      type: u32 (ggml type id), offset: u64 (relative to the data section,
 *                      a multiple of the alignment)
 *   padding            to the next multiple of the alignment
 *   tensor data        each tensor ne[0] / blockSize blocks per row, rows contiguous
 *
 *   string             length: u64, then that many UTF-8 bytes (no terminator)
 *   value types        0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool (1 byte), 8 string,
 *                      9 array (element type: u32, count: u64, elements; arrays may nest),
 *                      10 u64, 11 i64, 12 f64
 *   general.alignment  u32, a power of two; 32 when absent
 *
 * Orientation: ggml's ne is the shape fastest-first, so the row-major (PyTorch) shape is ne
 * reversed and the storage order is already the row-major order: a llama.cpp weight with
 * ne = [in, out] is the PyTorch [out, in] matrix.
 *
 * Nothing the header claims is trusted: every count and length is checked against the bytes left
 * in the file before anything is allocated or read.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import { elementCount, type SkippedTensor, type TensorIndex, type TensorInfo } from "./tensor.js";
import { ggmlType, type GgmlType } from "./ggml-quants.js";
import { lenientUtf8 } from "./text.js";

const MAGIC = [0x47, 0x47, 0x55, 0x46] as const; // "GGUF"
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
/** Nested arrays deeper than this are refused (ggml itself reads none); bounds recursion. */
const MAX_ARRAY_DEPTH = 8;
/** Arrays up to this many elements are shown in full in the metadata; longer ones are summarised. */
const MAX_LISTED_ELEMENTS = 16;
/** Strings longer than this (chat templates are shorter; embedded tokenizer JSON is longer) are summarised. */
const MAX_METADATA_STRING_BYTES = 65_536;
/** Header bytes fetched per read; large enough that small files are parsed with one read. */
const HEADER_CHUNK_BYTES = 1 << 16;

const enum ValueType {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
}

const VALUE_TYPE_NAMES = [
  "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
  "string", "array", "uint64", "int64", "float64",
] as const;

/** Encoded size of fixed-size value types; strings and arrays are variable. */
const FIXED_SIZE: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Smallest encoding of one value of a type: what a count claimed for it must fit in. */
function minimumEncodedSize(valueType: number): number {
  if (valueType === ValueType.STRING) return 8;
  if (valueType === ValueType.ARRAY) return 12;
  return FIXED_SIZE[valueType] ?? 1;
}

/** True when the file starts with the GGUF magic. */
export function looksLikeGguf(head: Uint8Array): boolean {
  return head.byteLength >= 4 && MAGIC.every((byte, i) => head[i] === byte);
}

/**
 * Sequential reader over the header, fetching it from the source in chunks. Every read is checked
 * against the file size first, so a claimed length can never make it allocate more than the file.
 */
class HeaderCursor {
  position = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  private bufferStart = 0;
  private readonly decoder = lenientUtf8;

  constructor(private readonly source: ByteSource, readonly fileSize: number) {}

  get remaining(): number {
    return this.fileSize - this.position;
  }

  fail(problem: string): never {
    throw new FormatError(`${this.source.name}: invalid GGUF file: ${problem}`);
  }

  /** True when bytes [position, position + n) are already in the buffer. */
  private buffered(n: number): boolean {
    return this.position >= this.bufferStart && this.position + n <= this.bufferStart + this.buffer.byteLength;
  }

  private async refill(n: number): Promise<void> {
    const length = Math.min(Math.max(n, HEADER_CHUNK_BYTES), this.remaining);
    this.buffer = await this.source.read(this.position, length);
    this.bufferStart = this.position;
  }

  /** Makes bytes [position, position + n) available and returns their offset in the buffer. */
  private async take(n: number, what: string): Promise<number> {
    if (n > this.remaining) {
      this.fail(`${what} at byte ${this.position} needs ${n} bytes, only ${this.remaining} left in the file`);
    }
    if (!this.buffered(n)) await this.refill(n);
    const at = this.position - this.bufferStart;
    this.position += n;
    return at;
  }

  /**
   * Steps over `count` length-prefixed strings without decoding them (token lists of 100k+
   * entries): lengths are read straight from the buffer, which is refilled only when exhausted.
   */
  async skipStrings(count: number, what: string): Promise<void> {
    for (let i = 0; i < count; i++) {
      if (8 > this.remaining) this.fail(`length of ${what}[${i}] at byte ${this.position} runs past the end of the file`);
      if (!this.buffered(8)) await this.refill(8);
      const at = this.buffer.byteOffset + this.position - this.bufferStart;
      const view = new DataView(this.buffer.buffer, at, 8);
      const low = view.getUint32(0, true);
      const high = view.getUint32(4, true);
      const length = high * 2 ** 32 + low;
      if (high >= 2 ** 21 || length > this.remaining - 8) {
        this.fail(`length of ${what}[${i}] is ${(BigInt(high) << 32n) | BigInt(low)}, more than the ${Math.max(0, this.remaining - 8)} bytes left in the file`);
      }
      this.position += 8 + length;
    }
  }

  private async view(n: number, what: string): Promise<DataView> {
    const at = await this.take(n, what);
    return new DataView(this.buffer.buffer, this.buffer.byteOffset + at, n);
  }

  async u32(what: string): Promise<number> {
    return (await this.view(4, what)).getUint32(0, true);
  }

  /**
   * A u64 count or length, refused when it exceeds `limit`, which callers derive from the bytes
   * left in the file; `bound` says what the limit is, for the message.
   */
  async count(what: string, limit: number, bound: string): Promise<number> {
    const value = (await this.view(8, what)).getBigUint64(0, true);
    const safeLimit = Math.max(0, limit);
    if (value > BigInt(safeLimit)) this.fail(`${what} is ${value}, more than ${bound.replace("#", String(safeLimit))}`);
    return Number(value);
  }

  async skip(n: number, what: string): Promise<void> {
    if (n > this.remaining) this.fail(`${what} at byte ${this.position} needs ${n} bytes, only ${this.remaining} left in the file`);
    this.position += n;
  }

  async bytes(n: number, what: string): Promise<Uint8Array> {
    const at = await this.take(n, what);
    return this.buffer.subarray(at, at + n);
  }

  /** A length-prefixed string, or undefined (skipped, not read) when longer than `maxBytes`. */
  async string(what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ text?: string; byteLength: number }> {
    const length = await this.count(`length of ${what}`, this.remaining - 8, "the # bytes left in the file");
    if (length > maxBytes) {
      await this.skip(length, what);
      return { byteLength: length };
    }
    return { text: this.decoder.decode(await this.bytes(length, what)), byteLength: length };
  }

  /** A scalar of a fixed-size value type, as its metadata string. */
  async scalar(valueType: number, what: string): Promise<string> {
    const v = await this.view(FIXED_SIZE[valueType]!, what);
    switch (valueType) {
      case ValueType.U8: return String(v.getUint8(0));
      case ValueType.I8: return String(v.getInt8(0));
      case ValueType.U16: return String(v.getUint16(0, true));
      case ValueType.I16: return String(v.getInt16(0, true));
      case ValueType.U32: return String(v.getUint32(0, true));
      case ValueType.I32: return String(v.getInt32(0, true));
      case ValueType.F32: return shortestFloat32(v.getFloat32(0, true));
      case ValueType.BOOL: return v.getUint8(0) === 0 ? "false" : "true";
      case ValueType.U64: return String(v.getBigUint64(0, true));
      case ValueType.I64: return String(v.getBigInt64(0, true));
      case ValueType.F64: return String(v.getFloat64(0, true));
      default: return this.fail(`${what} has unknown value type ${valueType}`);
    }
  }
}

/** Shortest decimal that reads back as the same float32 (0.9777778, not 0.9777777791023254). */
function shortestFloat32(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = Number(value.toPrecision(digits));
    if (Math.fround(text) === value) return String(text);
  }
  return String(value);
}

async function readValueType(cursor: HeaderCursor, what: string): Promise<number> {
  const valueType = await cursor.u32(`value type of ${what}`);
  if (valueType > ValueType.F64) cursor.fail(`${what} has unknown value type ${valueType}`);
  return valueType;
}

/** Reads one metadata value and renders it as a string; large arrays are walked, not kept. */
async function readValue(cursor: HeaderCursor, valueType: number, what: string, depth: number): Promise<string> {
  if (valueType === ValueType.STRING) {
    const { text, byteLength } = await cursor.string(what, MAX_METADATA_STRING_BYTES);
    return text ?? `[string of ${byteLength} bytes]`;
  }
  if (valueType !== ValueType.ARRAY) return cursor.scalar(valueType, what);

  if (depth >= MAX_ARRAY_DEPTH) cursor.fail(`${what} nests arrays deeper than ${MAX_ARRAY_DEPTH} levels`);
  const elementType = await readValueType(cursor, `elements of ${what}`);
  const elementBytes = minimumEncodedSize(elementType);
  const length = await cursor.count(`length of array ${what}`, Math.floor((cursor.remaining - 8) / elementBytes), `the # ${VALUE_TYPE_NAMES[elementType]} elements the rest of the file can hold`);
  const fixed = FIXED_SIZE[elementType];
  const listed = length <= MAX_LISTED_ELEMENTS;
  const items: string[] = [];
  if (fixed !== undefined && !listed) {
    await cursor.skip(length * fixed, what);
  } else if (elementType === ValueType.STRING && !listed) {
    await cursor.skipStrings(length, what);
  } else {
    for (let i = 0; i < length; i++) {
      let item: string;
      if (elementType === ValueType.ARRAY) {
        item = await readValue(cursor, ValueType.ARRAY, `${what}[${i}]`, depth + 1);
      } else if (elementType === ValueType.STRING) {
        const { text, byteLength } = await cursor.string(`${what}[${i}]`, MAX_METADATA_STRING_BYTES);
        item = text === undefined ? `[string of ${byteLength} bytes]` : JSON.stringify(text);
      } else {
        item = await cursor.scalar(elementType, `${what}[${i}]`);
      }
      if (listed) items.push(item);
    }
  }
  if (listed) return `[${items.join(", ")}]`;
  const label = elementType === ValueType.STRING ? "strings" : elementType === ValueType.ARRAY ? "arrays" : VALUE_TYPE_NAMES[elementType];
  return `[array of ${length} ${label}]`;
}

interface RawTensorInfo {
  name: string;
  ne: number[];
  typeId: number;
  offset: bigint;
}

async function readTensorInfo(cursor: HeaderCursor, index: number): Promise<RawTensorInfo> {
  const label = `tensor info ${index}`;
  const { text: name } = await cursor.string(`name of ${label}`);
  const what = `tensor "${name!}"`;
  const nDims = await cursor.u32(`dimension count of ${what}`);
  if (nDims > MAX_DIMS) cursor.fail(`${what} has ${nDims} dimensions (at most ${MAX_DIMS})`);
  const ne: number[] = [];
  for (let d = 0; d < nDims; d++) {
    ne.push(await cursor.count(`ne[${d}] of ${what}`, Number.MAX_SAFE_INTEGER, "the largest supported dimension #"));
  }
  const typeId = await cursor.u32(`type of ${what}`);
  const offsetView = await cursor.bytes(8, `data offset of ${what}`);
  const offset = new DataView(offsetView.buffer, offsetView.byteOffset, 8).getBigUint64(0, true);
  return { name: name!, ne, typeId, offset };
}

export async function readGguf(source: ByteSource): Promise<TensorIndex> {
  const fileSize = await source.size();
  const cursor = new HeaderCursor(source, fileSize);
  if (fileSize < 24) cursor.fail(`file is ${fileSize} bytes, shorter than the 24-byte header`);
  if (!looksLikeGguf(await cursor.bytes(4, "magic"))) cursor.fail('magic is not "GGUF"');

  const version = await cursor.u32("version");
  if (version === 1) throw new UnsupportedError(`${source.name}: GGUF version 1 is not supported (only versions 2 and 3)`);
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24 | (version & 0xff00) << 8 | (version >>> 8) & 0xff00 | version >>> 24) >>> 0;
    if (swapped >= 1 && swapped <= 3) {
      throw new UnsupportedError(`${source.name}: big-endian GGUF files are not supported`);
    }
    cursor.fail(`unknown version ${version} (expected 2 or 3)`);
  }

  // Each tensor info takes at least 24 bytes (name length, n_dims, type, offset), each KV at least 13.
  const tensorCount = await cursor.count("tensor count", Math.floor((cursor.remaining - 8) / 24), "the # tensor infos the rest of the file can hold");
  const kvCount = await cursor.count("metadata count", Math.floor((cursor.remaining - 24 * tensorCount) / 13), "the # key/value pairs the rest of the file can hold");

  // A Map, not an object literal: a key such as "__proto__" must stay an ordinary entry.
  const metadata = new Map<string, string>();
  let alignment = DEFAULT_ALIGNMENT;
  for (let i = 0; i < kvCount; i++) {
    const { text: key } = await cursor.string(`key of metadata entry ${i}`);
    if (metadata.has(key!)) cursor.fail(`metadata key "${key!}" appears twice`);
    const valueType = await readValueType(cursor, `metadata "${key!}"`);
    const value = await readValue(cursor, valueType, `metadata "${key!}"`, 0);
    if (key === "general.alignment") {
      const claimed = Number(value);
      if (valueType !== ValueType.U32 || claimed === 0 || (claimed & (claimed - 1)) !== 0) {
        cursor.fail(`general.alignment must be a power-of-two uint32, got ${VALUE_TYPE_NAMES[valueType]} ${value}`);
      }
      alignment = claimed;
    }
    metadata.set(key!, value);
  }

  const infos: RawTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const info = await readTensorInfo(cursor, i);
    if (names.has(info.name)) cursor.fail(`tensor "${info.name}" appears twice`);
    names.add(info.name);
    infos.push(info);
  }
  const dataStart = Math.ceil(cursor.position / alignment) * alignment;
  const dataSize = Math.max(0, fileSize - dataStart);

  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const extents: { name: string; begin: number; end: number }[] = [];
  for (const info of infos) {
    const what = `tensor "${info.name}"`;
    if (info.offset % BigInt(alignment) !== 0n) {
      cursor.fail(`${what} has data offset ${info.offset}, not a multiple of the alignment ${alignment}`);
    }
    const type = ggmlType(info.typeId);
    if (type === undefined) {
      skipped.push({ name: info.name, reason: `GGUF tensor type id ${info.typeId} is not a known ggml type` });
      continue;
    }
    const count = elementCount(info.ne);
    if (!Number.isSafeInteger(count)) cursor.fail(`${what} has dimensions ${JSON.stringify(info.ne)} whose element count overflows`);
    const rowLength = info.ne[0] ?? 1;
    if (rowLength % type.blockSize !== 0) {
      cursor.fail(`${what} (${type.name}) has rows of ${rowLength} elements, not a multiple of the block size ${type.blockSize}`);
    }
    const byteLength = (count / type.blockSize) * type.typeSize;
    if (!Number.isSafeInteger(byteLength)) cursor.fail(`${what} has dimensions ${JSON.stringify(info.ne)} whose byte size overflows`);
    if (info.offset + BigInt(byteLength) > BigInt(dataSize)) {
      cursor.fail(`${what} (${type.name}, ${byteLength} bytes at data offset ${info.offset}) runs past the end of the file (data section is ${dataSize} bytes from byte ${dataStart})`);
    }
    const begin = Number(info.offset);
    extents.push({ name: info.name, begin, end: begin + byteLength });
    if (type.decode === undefined) {
      skipped.push({ name: info.name, reason: `GGUF tensor type ${type.name} (${type.id}) is not supported` });
      continue;
    }
    tensors.push(ggufTensor(source, info.name, [...info.ne].reverse(), dataStart + begin, type));
  }
  extents.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < extents.length; i++) {
    const previous = extents[i - 1]!;
    const current = extents[i]!;
    if (current.begin < previous.end) cursor.fail(`tensor "${current.name}" overlaps tensor "${previous.name}" in the data section`);
  }
  return { format: "gguf", tensors, metadata: Object.fromEntries(metadata), skipped };
}

/**
 * A tensor of ggml blocks at `byteOffset`. Reads fetch and dequantize only the blocks that
 * cover the requested element range (storage order equals row-major order, see the header).
 */
function ggufTensor(source: ByteSource, name: string, shape: readonly number[], byteOffset: number, type: GgmlType): TensorInfo {
  const total = elementCount(shape);
  const decode = type.decode!;
  return {
    name,
    dtype: type.name,
    shape,
    async read(start, count) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > total) {
        throw new FormatError(`${source.name}: tensor "${name}": element range ${start}+${count} outside its ${total} elements`);
      }
      const out = new Float64Array(count);
      if (count === 0) return out;
      const firstBlock = Math.floor(start / type.blockSize);
      const endBlock = Math.ceil((start + count) / type.blockSize);
      const blocks = endBlock - firstBlock;
      const bytes = await source.read(byteOffset + firstBlock * type.typeSize, blocks * type.typeSize);
      const lead = start - firstBlock * type.blockSize;
      if (lead === 0 && blocks * type.blockSize === count) {
        decode(bytes, blocks, out, 0);
      } else {
        const scratch = new Float64Array(blocks * type.blockSize);
        decode(bytes, blocks, scratch, 0);
        out.set(scratch.subarray(lead, lead + count));
      }
      return out;
    },
  };
}
