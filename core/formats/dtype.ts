/**
 * Decoding of little-endian element types into float64. Each decoder writes `count` elements
 * read from `bytes` (starting at byte 0) into `out` at `outOffset`.
 */

export type ElementDecoder = (bytes: Uint8Array, count: number, out: Float64Array, outOffset: number) => void;

export interface ElementType {
  /** Bytes per element. */
  readonly size: number;
  readonly decode: ElementDecoder;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** IEEE 754 binary16 to float64 (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 (upper half of a binary32) to float64 (exact). */
export function bfloat16ToFloat(b: number): number {
  scratch.setUint32(0, (b & 0xffff) << 16, false);
  return scratch.getFloat32(0, false);
}

export const F64: ElementType = {
  size: 8,
  decode(bytes, count, out, outOffset) {
    const v = view(bytes);
    for (let i = 0; i < count; i++) out[outOffset + i] = v.getFloat64(i * 8, true);
  },
};

export const F32: ElementType = {
  size: 4,
  decode(bytes, count, out, outOffset) {
    const v = view(bytes);
    for (let i = 0; i < count; i++) out[outOffset + i] = v.getFloat32(i * 4, true);
  },
};

export const F16: ElementType = {
  size: 2,
  decode(bytes, count, out, outOffset) {
    const v = view(bytes);
    for (let i = 0; i < count; i++) out[outOffset + i] = halfToFloat(v.getUint16(i * 2, true));
  },
};

export const BF16: ElementType = {
  size: 2,
  decode(bytes, count, out, outOffset) {
    const v = view(bytes);
    for (let i = 0; i < count; i++) out[outOffset + i] = bfloat16ToFloat(v.getUint16(i * 2, true));
  },
};

function integerType(size: number, get: (v: DataView, offset: number) => number): ElementType {
  return {
    size,
    decode(bytes, count, out, outOffset) {
      const v = view(bytes);
      for (let i = 0; i < count; i++) out[outOffset + i] = get(v, i * size);
    },
  };
}

export const I8 = integerType(1, (v, o) => v.getInt8(o));
export const U8 = integerType(1, (v, o) => v.getUint8(o));
export const I16 = integerType(2, (v, o) => v.getInt16(o, true));
export const U16 = integerType(2, (v, o) => v.getUint16(o, true));
export const I32 = integerType(4, (v, o) => v.getInt32(o, true));
export const U32 = integerType(4, (v, o) => v.getUint32(o, true));
export const I64 = integerType(8, (v, o) => Number(v.getBigInt64(o, true)));
export const U64 = integerType(8, (v, o) => Number(v.getBigUint64(o, true)));

/** Big-endian variants (NumPy `>f4` ...): the same element types with the bytes read the other way. */
function bigEndianType(size: number, get: (v: DataView, offset: number) => number): ElementType {
  return integerType(size, get);
}

export const F64_BE = bigEndianType(8, (v, o) => v.getFloat64(o, false));
export const F32_BE = bigEndianType(4, (v, o) => v.getFloat32(o, false));
export const F16_BE = bigEndianType(2, (v, o) => halfToFloat(v.getUint16(o, false)));
export const I16_BE = bigEndianType(2, (v, o) => v.getInt16(o, false));
export const U16_BE = bigEndianType(2, (v, o) => v.getUint16(o, false));
export const I32_BE = bigEndianType(4, (v, o) => v.getInt32(o, false));
export const U32_BE = bigEndianType(4, (v, o) => v.getUint32(o, false));
export const I64_BE = bigEndianType(8, (v, o) => Number(v.getBigInt64(o, false)));
export const U64_BE = bigEndianType(8, (v, o) => Number(v.getBigUint64(o, false)));

/**
 * A small floating-point format with a sign bit, `exponentBits` and `mantissaBits`, decoded by
 * table. `special` maps the codes that do not follow the generic rule (NaN, infinities).
 * Subnormals (exponent field 0) are `mantissa / 2^mantissaBits * 2^(1 - bias)`.
 */
function minifloatTable(
  exponentBits: number,
  mantissaBits: number,
  bias: number,
  special: (code: number) => number | undefined,
): Float64Array {
  const totalBits = 1 + exponentBits + mantissaBits;
  const table = new Float64Array(1 << totalBits);
  for (let code = 0; code < table.length; code++) {
    const fixed = special(code);
    if (fixed !== undefined) {
      table[code] = fixed;
      continue;
    }
    const sign = code >> (exponentBits + mantissaBits) ? -1 : 1;
    const exponent = (code >> mantissaBits) & ((1 << exponentBits) - 1);
    const mantissa = code & ((1 << mantissaBits) - 1);
    const fraction = mantissa / 2 ** mantissaBits;
    table[code] = exponent === 0
      ? sign * fraction * 2 ** (1 - bias)
      : sign * (1 + fraction) * 2 ** (exponent - bias);
  }
  return table;
}

function byteTableType(table: Float64Array): ElementType {
  return {
    size: 1,
    decode(bytes, count, out, outOffset) {
      for (let i = 0; i < count; i++) out[outOffset + i] = table[bytes[i]!]!;
    },
  };
}

/** OCP FP8 E4M3FN: bias 7, no infinities, S.1111.111 is NaN. */
export const F8_E4M3 = byteTableType(minifloatTable(4, 3, 7, (c) => ((c & 0x7f) === 0x7f ? NaN : undefined)));
/** FP8 E5M2: bias 15, IEEE-like infinities and NaNs. */
export const F8_E5M2 = byteTableType(minifloatTable(5, 2, 15, (c) => {
  if ((c & 0x7c) !== 0x7c) return undefined;
  if ((c & 0x03) !== 0) return NaN;
  return c & 0x80 ? -Infinity : Infinity;
}));
/** FP8 E4M3FNUZ: bias 8, no infinities, no negative zero: 0x80 is the only NaN. */
export const F8_E4M3FNUZ = byteTableType(minifloatTable(4, 3, 8, (c) => (c === 0x80 ? NaN : undefined)));
/** FP8 E5M2FNUZ: bias 16, no infinities, no negative zero: 0x80 is the only NaN. */
export const F8_E5M2FNUZ = byteTableType(minifloatTable(5, 2, 16, (c) => (c === 0x80 ? NaN : undefined)));

const e8m0Table = new Float64Array(256);
for (let code = 0; code < 256; code++) e8m0Table[code] = code === 0xff ? NaN : 2 ** (code - 127);
/** OCP E8M0 scale: unsigned exponent only, value 2^(code - 127), 0xFF is NaN. */
export const F8_E8M0 = byteTableType(e8m0Table);

/**
 * Element types narrower than a byte. Elements are packed as a little-endian bit stream: element
 * i occupies bits [i*bits, (i+1)*bits) counting from the least significant bit of byte 0 (for
 * 4-bit types: the low nibble holds the even element, as PyTorch's float4_e2m1fn_x2 does).
 */
export interface PackedElementType {
  /** Bits per element (4 or 6). */
  readonly bits: number;
  /** Decodes `count` elements starting at element `first` of the stream in `bytes`. */
  decode(bytes: Uint8Array, firstBit: number, count: number, out: Float64Array, outOffset: number): void;
}

function packedType(bits: number, table: Float64Array): PackedElementType {
  const mask = (1 << bits) - 1;
  return {
    bits,
    decode(bytes, firstBit, count, out, outOffset) {
      for (let i = 0; i < count; i++) {
        const bit = firstBit + i * bits;
        const byte = bit >> 3;
        // An element spans at most two bytes (bits <= 8); the second may lie past the end only
        // when the element fits in the first.
        const word = bytes[byte]! | ((bytes[byte + 1] ?? 0) << 8);
        out[outOffset + i] = table[(word >> (bit & 7)) & mask]!;
      }
    },
  };
}

/** MX FP4 E2M1: bias 1, no infinities or NaNs, max 6. */
export const F4_E2M1 = packedType(4, minifloatTable(2, 1, 1, () => undefined));
/** MX FP6 E2M3: bias 1, no infinities or NaNs, max 7.5. */
export const F6_E2M3 = packedType(6, minifloatTable(2, 3, 1, () => undefined));
/** MX FP6 E3M2: bias 3, no infinities or NaNs, max 28. */
export const F6_E3M2 = packedType(6, minifloatTable(3, 2, 3, () => undefined));
