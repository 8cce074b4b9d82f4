/**
 * safetensors reader.
 *
 * Layout (huggingface/safetensors):
 *   header_size : u64 little-endian, N
 *   header      : N bytes of UTF-8 JSON, an object
 *                   "<tensor name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }
 *                   "__metadata__":  { "<key>": "<string value>" }   (optional)
 *                 may be padded at the end with spaces (0x20)
 *   byte_buffer : the rest of the file; data_offsets are relative to its start
 * Validity (as the reference implementation checks it): offsets are ordered, contiguous from 0,
 * cover the buffer exactly, and each tensor's byte length equals its element count times the
 * dtype size (sub-byte dtypes: a whole number of bytes).
 *
 * Every dtype of the format is decoded except the complex C64, which is listed in `skipped`.
 * Integer and BOOL tensors are presented with their dtype; deciding whether they are layers is
 * the layer planner's job, not the reader's.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError } from "../errors.js";
import type { SkippedTensor, TensorIndex, TensorInfo } from "./tensor.js";
import {
  BF16, F16, F32, F64, F4_E2M1, F6_E2M3, F6_E3M2, F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0,
  I16, I32, I64, I8, U16, U32, U64, U8, type ElementType, type PackedElementType,
} from "./dtype.js";
import { rangeCheckedTensor } from "./element-range.js";
import { strictUtf8 } from "./text.js";

/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100_000_000;

const ELEMENT_TYPES: Readonly<Record<string, ElementType>> = {
  F64, F32, F16, BF16, I64, U64, I32, U32, I16, U16, I8, U8,
  BOOL: U8,
  F8_E4M3, F8_E5M2, F8_E4M3FNUZ, F8_E5M2FNUZ, F8_E8M0,
};

const PACKED_TYPES: Readonly<Record<string, PackedElementType>> = {
  F4: F4_E2M1, F6_E2M3, F6_E3M2,
};

/** Dtypes the format defines that alphawatch cannot present as real numbers, with the reason. */
const UNPRESENTABLE: Readonly<Record<string, string>> = {
  C64: "complex dtype C64 (complex64) has no real-valued spectrum to analyze",
};

/** Bits per element of every dtype the format defines. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/**
 * True when the first bytes look like a safetensors file: a plausible header length, then `{`.
 * A header length past the end of the file still claims it (a truncated download), so that the
 * reader can say so.
 */
export function looksLikeSafetensors(head: Uint8Array, _fileSize: number): boolean {
  if (head.byteLength < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(MAX_HEADER_BYTES) && head[8] === 0x7b;
}

interface RawEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function fail(source: ByteSource, problem: string): never {
  throw new FormatError(`${source.name}: invalid safetensors file: ${problem}`);
}

function parseEntry(source: ByteSource, name: string, value: unknown): RawEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(source, `tensor "${name}" is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string") fail(source, `tensor "${name}" has no string "dtype"`);
  if (DTYPE_BITS[dtype] === undefined) fail(source, `tensor "${name}" has unknown dtype "${dtype}"`);
  if (!Array.isArray(shape)) fail(source, `tensor "${name}" has no "shape" array`);
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    fail(source, `tensor "${name}" has no "data_offsets" pair`);
  }
  for (const dim of shape) {
    if (typeof dim === "number" && dim < 0) fail(source, `tensor "${name}" has a negative dimension ${dim}`);
    if (!Number.isSafeInteger(dim)) {
      fail(source, `tensor "${name}" has an invalid dimension ${JSON.stringify(dim)}`);
    }
  }
  const [begin, end] = offsets as unknown[];
  if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0) {
    fail(source, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  return { name, dtype, shape: shape as number[], begin: begin as number, end: end as number };
}

/**
 * Keys of the top-level object of a JSON text already accepted by JSON.parse, in order, with
 * duplicates kept (JSON.parse silently keeps the last of duplicate keys).
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** Product of the dimensions, or undefined when it leaves the safe-integer range at any step. */
function checkedElementCount(shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (!Number.isSafeInteger(count)) return undefined;
  }
  return count;
}

export async function readSafetensors(source: ByteSource): Promise<TensorIndex> {
  const fileSize = await source.size();
  if (fileSize < 8) fail(source, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const lengthBytes = await source.read(0, 8);
  const headerSize = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerSize > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `header length ${headerSize} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (headerSize + 8n > BigInt(fileSize)) {
    fail(source, `header length ${headerSize} runs past the end of the file (${fileSize} bytes): truncated download?`);
  }
  const headerBytes = await source.read(8, Number(headerSize));
  let headerText: string;
  try {
    headerText = strictUtf8.decode(headerBytes);
  } catch {
    fail(source, "header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(source, `header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(source, "header JSON is not an object");
  }
  const dataStart = 8 + Number(headerSize);
  const dataSize = fileSize - dataStart;

  const seen = new Set<string>();
  for (const key of topLevelKeys(headerText)) {
    if (seen.has(key)) fail(source, `duplicate key "${key}" in the header`);
    seen.add(key);
  }

  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(source, "__metadata__ is not an object");
      }
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== "string") fail(source, `__metadata__ value of "${key}" is not a string`);
        metadata[key] = text;
      }
      continue;
    }
    entries.push(parseEntry(source, name, value));
  }

  // Offsets must tile the byte buffer exactly, in order.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const entry of byOffset) {
    if (entry.end < entry.begin) {
      fail(source, `tensor "${entry.name}" has data_offsets [${entry.begin}, ${entry.end}] that end before they begin`);
    }
    if (entry.begin !== expected) {
      fail(source, entry.begin < expected
        ? `tensor "${entry.name}" overlaps the previous tensor (offset ${entry.begin} < ${expected})`
        : `gap in the byte buffer before tensor "${entry.name}" (offset ${entry.begin}, expected ${expected})`);
    }
    const bits = DTYPE_BITS[entry.dtype]!;
    const count = checkedElementCount(entry.shape);
    if (count === undefined || !Number.isSafeInteger(count * bits)) {
      fail(source, `tensor "${entry.name}" has a shape ${JSON.stringify(entry.shape)} whose element count overflows`);
    }
    if ((count * bits) % 8 !== 0) {
      fail(source, `tensor "${entry.name}" (${entry.dtype}, ${count} elements of ${bits} bits) is not a whole number of bytes`);
    }
    if ((count * bits) / 8 !== entry.end - entry.begin) {
      fail(source, `tensor "${entry.name}" (${entry.dtype} ${JSON.stringify(entry.shape)}) needs ${(count * bits) / 8} bytes, data_offsets give ${entry.end - entry.begin}`);
    }
    expected = entry.end;
  }
  if (expected > dataSize) {
    fail(source, `tensor data runs past the end of the file (needs ${expected} bytes after the header, file has ${dataSize}): truncated download?`);
  }
  if (expected < dataSize) fail(source, `${dataSize - expected} trailing bytes after the last tensor`);

  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  // The file's own order is the order of the header entries (JSON.parse preserves it for
  // non-integer-like keys; when a name looks like an array index, the data order is used).
  const ordered = entries.some((e) => /^(0|[1-9]\d*)$/.test(e.name)) ? byOffset : entries;
  for (const entry of ordered) {
    const offset = dataStart + entry.begin;
    const type = ELEMENT_TYPES[entry.dtype];
    const packed = PACKED_TYPES[entry.dtype];
    if (type !== undefined) {
      tensors.push(contiguousTensor(source, entry.name, entry.dtype, entry.shape, offset, type));
    } else if (packed !== undefined) {
      tensors.push(packedTensor(source, entry.name, entry.dtype, entry.shape, offset, packed));
    } else {
      skipped.push({ name: entry.name, reason: UNPRESENTABLE[entry.dtype] ?? `dtype ${entry.dtype} is not supported` });
    }
  }
  return { format: "safetensors", tensors, metadata, skipped };
}

/** A tensor stored contiguously, row-major, at `byteOffset` of `source`. */
export function contiguousTensor(
  source: ByteSource,
  name: string,
  dtype: string,
  shape: readonly number[],
  byteOffset: number,
  type: ElementType,
): TensorInfo {
  // Raw bytes of the last read, reused by the next one when the source can fill a buffer (reads
  // of one tensor are sequential; a read that finds the buffer in use gets its own).
  let scratch: Uint8Array | undefined;
  let scratchBusy = false;
  return rangeCheckedTensor(source.name, name, dtype, shape, async (start, count, out) => {
    const offset = byteOffset + start * type.size;
    const length = count * type.size;
    if (source.readInto === undefined || scratchBusy) {
      type.decode(await source.read(offset, length), count, out, 0);
      return;
    }
    scratchBusy = true;
    try {
      if (scratch === undefined || scratch.length < length) scratch = new Uint8Array(length);
      const bytes = scratch.subarray(0, length);
      await source.readInto(offset, bytes);
      type.decode(bytes, count, out, 0);
    } finally {
      scratchBusy = false;
    }
  });
}

/** A tensor of sub-byte elements packed as a little-endian bit stream at `byteOffset`. */
export function packedTensor(
  source: ByteSource,
  name: string,
  dtype: string,
  shape: readonly number[],
  byteOffset: number,
  type: PackedElementType,
): TensorInfo {
  return rangeCheckedTensor(source.name, name, dtype, shape, async (start, count, out) => {
    const firstBit = start * type.bits;
    const firstByte = Math.floor(firstBit / 8);
    const endByte = Math.ceil(((start + count) * type.bits) / 8);
    const bytes = await source.read(byteOffset + firstByte, endByte - firstByte);
    type.decode(bytes, firstBit - firstByte * 8, count, out, 0);
  });
}
