/**
 * Protocol Buffers wire-format reader (no schema, no generated code, no eval: it must run inside a
 * Cloudflare Worker, where reflection-based decoders cannot build their functions).
 *
 * Wire format: a message is a sequence of fields, each `tag` (varint: field_number << 3 | wire_type)
 * followed by its payload:
 *   wire 0 varint            base-128, little-endian groups of 7 bits, at most 10 bytes
 *   wire 1 fixed64           8 bytes little-endian
 *   wire 2 length-delimited  varint byte length, then that many bytes (strings, bytes, nested
 *                            messages, packed repeated scalars)
 *   wire 5 fixed32           4 bytes little-endian
 *   wire 3/4 (groups) are deprecated and refused; 6/7 do not exist.
 *
 * The reader walks a message over a ByteSource through a small read-ahead window and reports each
 * field with the absolute byte offset and length of its payload, so a caller can descend into
 * nested messages, decode small scalars, and leave large payloads (tensor bytes) to be read later
 * by range. Every length is checked against the end of its enclosing message before it is used.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError } from "../errors.js";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** One field of a message. */
export interface ProtoField {
  /** Field number from the tag. */
  readonly number: number;
  readonly wireType: number;
  /**
   * Wire 0: the varint's value (exact below 2^53; larger values, such as negative int64s in
   * two's complement, come out approximate and callers treat them as invalid). Otherwise 0.
   */
  readonly value: number;
  /** Absolute byte offset of the payload (after the tag and, for wire 2, the length prefix). */
  readonly offset: number;
  /** Payload length in bytes (the varint's encoded length for wire 0). */
  readonly length: number;
}

/** The longest tag + length prefix: two 10-byte varints. */
const MAX_PREFIX_BYTES = 20;
const MAX_VARINT_BYTES = 10;
/** Field numbers are 29-bit. */
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** Thrown by the synchronous decoders; turned into a FormatError with the file name by callers. */
export class WireError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

/** Varint at `pos` of `bytes` (not past `end`): its value and the position after it. */
export function decodeVarint(bytes: Uint8Array, pos: number, end: number, base = 0): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos + i >= end) throw new WireError("truncated varint", base + pos);
    const byte = bytes[pos + i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new WireError("varint longer than 10 bytes", base + pos);
}

/**
 * Decodes the field starting at `pos` of `bytes` (which holds the file's bytes from absolute
 * offset `base`); `end` bounds the enclosing message (relative to `bytes`). Returns the field and
 * the relative position of the next field.
 */
export function decodeField(bytes: Uint8Array, pos: number, end: number, base: number): { field: ProtoField; next: number } {
  const tag = decodeVarint(bytes, pos, end, base);
  const number = Math.floor(tag.value / 8);
  const wireType = tag.value % 8;
  if (number === 0 || number > MAX_FIELD_NUMBER) {
    throw new WireError(`invalid field number ${number}`, base + pos);
  }
  let p = tag.next;
  switch (wireType) {
    case WIRE_VARINT: {
      const v = decodeVarint(bytes, p, end, base);
      return { field: { number, wireType, value: v.value, offset: base + p, length: v.next - p }, next: v.next };
    }
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
      const size = wireType === WIRE_FIXED64 ? 8 : 4;
      if (p + size > end) throw new WireError(`field ${number}: fixed-width value runs past the end of its message`, base + p);
      return { field: { number, wireType, value: 0, offset: base + p, length: size }, next: p + size };
    }
    case WIRE_LENGTH_DELIMITED: {
      const len = decodeVarint(bytes, p, end, base);
      p = len.next;
      if (len.value > end - p) {
        throw new WireError(
          `field ${number}: length ${len.value} runs past the end of its message (${end - p} bytes left)`,
          base + pos,
        );
      }
      return { field: { number, wireType, value: 0, offset: base + p, length: len.value }, next: p + len.value };
    }
    case 3:
    case 4:
      throw new WireError(`field ${number}: group wire type ${wireType} is not used by this format`, base + pos);
    default:
      throw new WireError(`field ${number}: invalid wire type ${wireType}`, base + pos);
  }
}

/** Walks messages of one ByteSource; failures become FormatErrors prefixed with `context`. */
export class ProtoReader {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;

  /**
   * @param context  prefix of every error, e.g. `model.onnx: invalid ONNX file`
   * @param fileSize the source's size (every range is checked against it)
   */
  constructor(
    private readonly source: ByteSource,
    readonly fileSize: number,
    private readonly context: string,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  fail(problem: string, position?: number): never {
    throw new FormatError(`${this.context}: ${problem}${position === undefined ? "" : ` (at byte ${position})`}`);
  }

  /** Makes the window cover [offset, offset + wanted) as far as the file allows. */
  private async ensure(offset: number, wanted: number): Promise<void> {
    const have = this.windowStart + this.window.byteLength;
    const need = Math.min(offset + wanted, this.fileSize);
    if (offset >= this.windowStart && need <= have) return;
    const length = Math.min(this.fileSize - offset, Math.max(wanted, this.chunkBytes));
    this.window = await this.source.read(offset, length);
    this.windowStart = offset;
  }

  /** The fields of the message occupying bytes [start, end) of the file, in order. */
  async *fields(start: number, end: number): AsyncGenerator<ProtoField> {
    if (end > this.fileSize) this.fail(`message runs past the end of the file (${end} > ${this.fileSize})`);
    let pos = start;
    while (pos < end) {
      await this.ensure(pos, Math.min(MAX_PREFIX_BYTES, end - pos));
      const relative = pos - this.windowStart;
      const limit = Math.min(end - this.windowStart, this.window.byteLength);
      let decoded: { field: ProtoField; next: number };
      try {
        // A length-delimited payload may extend beyond the window; bound lengths by the message
        // end, not the window end, so decode against the message end with a window-sized prefix.
        decoded = decodeFieldBounded(this.window, relative, limit, end - this.windowStart, this.windowStart);
      } catch (error) {
        if (error instanceof WireError) this.fail(error.message, error.position);
        throw error;
      }
      // The consumer may move the window while it handles the field: take the position first.
      pos = decoded.next + this.windowStart;
      yield decoded.field;
    }
  }

  /** The payload bytes of a field (or any range inside the file). */
  async bytes(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.fileSize) this.fail(`byte range ${offset}+${length} is past the end of the file`);
    if (offset >= this.windowStart && offset + length <= this.windowStart + this.window.byteLength) {
      return this.window.subarray(offset - this.windowStart, offset - this.windowStart + length);
    }
    if (length <= this.chunkBytes) {
      await this.ensure(offset, length);
      return this.window.subarray(offset - this.windowStart, offset - this.windowStart + length);
    }
    return this.source.read(offset, length);
  }

  /** A length-delimited field as UTF-8 text, refusing payloads above `maxBytes`. */
  async string(field: ProtoField, what: string, maxBytes = 1 << 20): Promise<string> {
    if (field.wireType !== WIRE_LENGTH_DELIMITED) this.fail(`${what} has wire type ${field.wireType}, expected a string`, field.offset);
    if (field.length > maxBytes) this.fail(`${what} is ${field.length} bytes long (limit ${maxBytes})`, field.offset);
    return new TextDecoder("utf-8").decode(await this.bytes(field.offset, field.length));
  }

  /**
   * The values of a repeated varint field given either unpacked (one wire-0 field) or packed (one
   * wire-2 field of consecutive varints); appends to `out`, refusing more than `maxCount` values.
   */
  async varints(field: ProtoField, out: number[], what: string, maxCount: number): Promise<void> {
    if (field.wireType === WIRE_VARINT) {
      if (out.length >= maxCount) this.fail(`${what} has more than ${maxCount} values`, field.offset);
      out.push(field.value);
      return;
    }
    if (field.wireType !== WIRE_LENGTH_DELIMITED) this.fail(`${what} has wire type ${field.wireType}, expected varints`, field.offset);
    // Every varint takes at least one byte, so the payload length bounds what decoding can append;
    // the count is checked as values are decoded.
    const bytes = await this.bytes(field.offset, field.length);
    let pos = 0;
    try {
      while (pos < bytes.byteLength) {
        if (out.length >= maxCount) this.fail(`${what} has more than ${maxCount} values`, field.offset);
        const v = decodeVarint(bytes, pos, bytes.byteLength, field.offset);
        out.push(v.value);
        pos = v.next;
      }
    } catch (error) {
      if (error instanceof WireError) this.fail(`${what}: ${error.message}`, error.position);
      throw error;
    }
  }
}

/**
 * decodeField where the window may end before the message does: the tag and length prefix must be
 * inside the window (`windowEnd`), payload lengths are checked against the message end.
 */
function decodeFieldBounded(
  window: Uint8Array,
  pos: number,
  windowEnd: number,
  messageEnd: number,
  base: number,
): { field: ProtoField; next: number } {
  if (windowEnd >= messageEnd) return decodeField(window, pos, messageEnd, base);
  // Decode the prefix against the window, then re-check the payload against the message end.
  const tag = decodeVarint(window, pos, windowEnd, base);
  const wireType = tag.value % 8;
  if (wireType !== WIRE_LENGTH_DELIMITED) return decodeField(window, pos, windowEnd, base);
  const number = Math.floor(tag.value / 8);
  if (number === 0 || number > MAX_FIELD_NUMBER) throw new WireError(`invalid field number ${number}`, base + pos);
  const len = decodeVarint(window, tag.next, windowEnd, base);
  if (len.value > messageEnd - len.next) {
    throw new WireError(
      `field ${number}: length ${len.value} runs past the end of its message (${messageEnd - len.next} bytes left)`,
      base + pos,
    );
  }
  return {
    field: { number, wireType, value: 0, offset: base + len.next, length: len.value },
    next: len.next + len.value,
  };
}
