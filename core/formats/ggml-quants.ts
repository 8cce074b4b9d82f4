/**
 * ggml tensor types: block geometry of every type id GGUF files use, and dequantization of the
 * common ones to float64, value for value as ggml's `to_float` computes them in float32.
 *
 * A ggml tensor row of ne[0] elements is stored as ne[0] / blockSize blocks of typeSize bytes.
 * Block layouts (little-endian; "f16" is an IEEE binary16 scale; QK_K = 256):
 *
 *   Q4_0   32 el, 18 B : d f16 | qs[16]   x[j] = d*(lo(qs[j]) - 8), x[j+16] = d*(hi(qs[j]) - 8)
 *   Q4_1   32 el, 20 B : d f16, m f16 | qs[16]          x = d*q + m (q: low nibbles, then high)
 *   Q5_0   32 el, 22 B : d f16 | qh u32 | qs[16]        5th bit of element j is bit j of qh;
 *                                                       x = d*(q - 16)
 *   Q5_1   32 el, 24 B : d f16, m f16 | qh u32 | qs[16] x = d*q + m
 *   Q8_0   32 el, 34 B : d f16 | qs[32] int8            x = d*q
 *   Q2_K  256 el, 84 B : scales[16] (lo nibble: scale, hi nibble: min) | qs[64] 2-bit | d, dmin f16
 *   Q3_K  256 el,110 B : hmask[32] (3rd bit) | qs[64] 2-bit | scales[12] (16 x 6-bit) | d f16
 *   Q4_K  256 el,144 B : d, dmin f16 | scales[12] (8 x 6-bit scale + 8 x 6-bit min) | qs[128]
 *   Q5_K  256 el,176 B : d, dmin f16 | scales[12] | qh[32] (5th bit) | qs[128]
 *   Q6_K  256 el,210 B : ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] int8 | d f16
 *   IQ4_NL 32 el, 18 B : d f16 | qs[16]  x = d * KVALUES_IQ4NL[nibble]
 *   IQ4_XS 256 el,136 B: d f16 | scales_h u16 | scales_l[4] | qs[128]; 8 sub-blocks of 32 with
 *                        6-bit scales (low 4 bits in scales_l, high 2 in scales_h), offset 32.
 *
 * Exactness: ggml computes in float32. Every step below that can round is wrapped in Math.fround;
 * a float64 operation on float32 inputs followed by fround is the correctly rounded float32 result
 * (float64 has more than twice float32's precision), so the values agree bit for bit.
 */
import { BF16, F16, F32, F64, I16, I32, I64, I8, type ElementType } from "./dtype.js";

/** Dequantizes `blockCount` whole blocks read from `bytes` (byte 0 on) into `out` at `outOffset`. */
export type BlockDecoder = (bytes: Uint8Array, blockCount: number, out: Float64Array, outOffset: number) => void;

export interface GgmlType {
  /** ggml's name without the GGML_TYPE_ prefix (`Q4_K`, `F16`, ...). */
  readonly name: string;
  /** Numeric id as stored in GGUF tensor infos. */
  readonly id: number;
  /** Elements per block (1 for plain element types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** Undefined for types alphawatch cannot dequantize. */
  readonly decode?: BlockDecoder;
}

const fround = Math.fround;

let halfTable: Float32Array | undefined;

/** binary16 bits → float value, through a table built on first use (64K entries, 256 KiB). */
function f16Table(): Float32Array {
  if (halfTable === undefined) {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const mantissa = h & 0x3ff;
      table[h] = exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 31
          ? (mantissa === 0 ? sign * Infinity : NaN)
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
    }
    halfTable = table;
  }
  return halfTable;
}

function readHalf(table: Float32Array, bytes: Uint8Array, at: number): number {
  return table[bytes[at]! | (bytes[at + 1]! << 8)]!;
}

/** Adapts a per-element decoder of dtype.ts to the block interface (block size 1). */
function plain(type: ElementType): BlockDecoder {
  return (bytes, blockCount, out, outOffset) => type.decode(bytes, blockCount, out, outOffset);
}

/**
 * Q4_0 and IQ4_NL share one block (d f16 | qs[16], 32 elements: low nibbles first, then high);
 * they differ only in the 16 levels a nibble selects, x = d * levels[nibble].
 */
function decodeNibbleBlocks(levels: readonly number[]): BlockDecoder {
  return (bytes, blockCount, out, outOffset) => {
    const half = f16Table();
    for (let b = 0; b < blockCount; b++) {
      const base = b * 18;
      const d = readHalf(half, bytes, base);
      const y = outOffset + b * 32;
      for (let j = 0; j < 16; j++) {
        const q = bytes[base + 2 + j]!;
        out[y + j] = fround(d * levels[q & 0x0f]!);
        out[y + j + 16] = fround(d * levels[q >> 4]!);
      }
    }
  };
}

/** Q4_0's levels: the nibble less 8. */
const Q4_0_LEVELS: readonly number[] = Array.from({ length: 16 }, (_, nibble) => nibble - 8);

const decodeQ4_1: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 20;
    const d = readHalf(half, bytes, base);
    const m = readHalf(half, bytes, base + 2);
    const y = outOffset + b * 32;
    for (let j = 0; j < 16; j++) {
      const q = bytes[base + 4 + j]!;
      out[y + j] = fround(fround(d * (q & 0x0f)) + m);
      out[y + j + 16] = fround(fround(d * (q >> 4)) + m);
    }
  }
};

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Q5_0 and Q5_1 share the bit layout; `withMin` selects the affine (Q5_1) form. */
function decodeQ5(withMin: boolean): BlockDecoder {
  const blockBytes = withMin ? 24 : 22;
  const highOffset = withMin ? 4 : 2;
  return (bytes, blockCount, out, outOffset) => {
    const half = f16Table();
    for (let b = 0; b < blockCount; b++) {
      const base = b * blockBytes;
      const d = readHalf(half, bytes, base);
      const m = withMin ? readHalf(half, bytes, base + 2) : 0;
      const qh = readU32(bytes, base + highOffset);
      const qs = base + highOffset + 4;
      const y = outOffset + b * 32;
      for (let j = 0; j < 16; j++) {
        const q = bytes[qs + j]!;
        const low = (q & 0x0f) | (((qh >>> j) & 1) << 4);
        const high = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
        if (withMin) {
          out[y + j] = fround(fround(d * low) + m);
          out[y + j + 16] = fround(fround(d * high) + m);
        } else {
          out[y + j] = fround(d * (low - 16));
          out[y + j + 16] = fround(d * (high - 16));
        }
      }
    }
  };
}

const decodeQ8_0: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 34;
    const d = readHalf(half, bytes, base);
    const y = outOffset + b * 32;
    for (let j = 0; j < 32; j++) {
      const q = (bytes[base + 2 + j]! << 24) >> 24;
      out[y + j] = fround(d * q);
    }
  }
};

const decodeQ2_K: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 84;
    const d = readHalf(half, bytes, base + 80);
    const dmin = readHalf(half, bytes, base + 82);
    let y = outOffset + b * 256;
    let scaleIndex = 0;
    // Two halves of 128 elements; each reads 32 quant bytes four times, two bits at a time,
    // and every 16 elements take the next scale byte.
    for (let half128 = 0; half128 < 2; half128++) {
      const qs = base + 16 + half128 * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = bytes[base + scaleIndex++]!;
          const dl = fround(d * (sc & 0x0f));
          const ml = fround(dmin * (sc >> 4));
          const q = qs + part * 16;
          for (let l = 0; l < 16; l++) out[y++] = fround(fround(dl * ((bytes[q + l]! >> shift) & 3)) - ml);
        }
      }
    }
  }
};

/** The j-th (0..15) 6-bit scale of a Q3_K block, from its 12 packed scale bytes at `at`. */
function q3Scale(bytes: Uint8Array, at: number, j: number): number {
  if (j < 4) return (bytes[at + j]! & 0x0f) | ((bytes[at + 8 + j]! & 3) << 4);
  if (j < 8) return (bytes[at + j]! & 0x0f) | (((bytes[at + j + 4]! >> 2) & 3) << 4);
  if (j < 12) return (bytes[at + j - 8]! >> 4) | (((bytes[at + j]! >> 4) & 3) << 4);
  return (bytes[at + j - 8]! >> 4) | (((bytes[at + j - 4]! >> 6) & 3) << 4);
}

const decodeQ3_K: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 110;
    const hmask = base;
    const d = readHalf(half, bytes, base + 108);
    let y = outOffset + b * 256;
    let scaleIndex = 0;
    let maskBit = 1;
    for (let half128 = 0; half128 < 2; half128++) {
      const qs = base + 32 + half128 * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const dl = fround(d * (q3Scale(bytes, base + 96, scaleIndex++) - 32));
          const first = part * 16;
          for (let l = first; l < first + 16; l++) {
            const low = (bytes[qs + l]! >> shift) & 3;
            const q = low - (bytes[hmask + l]! & maskBit ? 0 : 4);
            out[y++] = fround(dl * q);
          }
        }
        maskBit <<= 1;
      }
    }
  }
};

/** Scale and min of sub-block j (0..7) of a Q4_K / Q5_K block; 12 packed bytes at `at`. */
function kScaleMin(bytes: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [bytes[at + j]! & 63, bytes[at + j + 4]! & 63];
  return [
    (bytes[at + j + 4]! & 0x0f) | ((bytes[at + j - 4]! >> 6) << 4),
    (bytes[at + j + 4]! >> 4) | ((bytes[at + j]! >> 6) << 4),
  ];
}

const decodeQ4_K: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 144;
    const d = readHalf(half, bytes, base);
    const dmin = readHalf(half, bytes, base + 2);
    let y = outOffset + b * 256;
    // Four chunks of 64 elements: 32 low nibbles (sub-block 2c), then 32 high nibbles (2c + 1).
    for (let chunk = 0; chunk < 4; chunk++) {
      const qs = base + 16 + chunk * 32;
      for (let nibble = 0; nibble < 2; nibble++) {
        const [sc, m] = kScaleMin(bytes, base + 4, 2 * chunk + nibble);
        const dl = fround(d * sc);
        const ml = fround(dmin * m);
        const shift = nibble * 4;
        for (let l = 0; l < 32; l++) out[y++] = fround(fround(dl * ((bytes[qs + l]! >> shift) & 0x0f)) - ml);
      }
    }
  }
};

const decodeQ5_K: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 176;
    const d = readHalf(half, bytes, base);
    const dmin = readHalf(half, bytes, base + 2);
    const qh = base + 16;
    let y = outOffset + b * 256;
    for (let chunk = 0; chunk < 4; chunk++) {
      const qs = base + 48 + chunk * 32;
      for (let nibble = 0; nibble < 2; nibble++) {
        const [sc, m] = kScaleMin(bytes, base + 4, 2 * chunk + nibble);
        const dl = fround(d * sc);
        const ml = fround(dmin * m);
        const shift = nibble * 4;
        const highBit = 1 << (2 * chunk + nibble);
        for (let l = 0; l < 32; l++) {
          const q = ((bytes[qs + l]! >> shift) & 0x0f) + (bytes[qh + l]! & highBit ? 16 : 0);
          out[y++] = fround(fround(dl * q) - ml);
        }
      }
    }
  }
};

const decodeQ6_K: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 210;
    const d = readHalf(half, bytes, base + 208);
    for (let half128 = 0; half128 < 2; half128++) {
      const ql = base + half128 * 64;
      const qh = base + 128 + half128 * 32;
      const sc = base + 192 + half128 * 8;
      const y = outOffset + b * 256 + half128 * 128;
      for (let l = 0; l < 32; l++) {
        const high = bytes[qh + l]!;
        const lowA = bytes[ql + l]!;
        const lowB = bytes[ql + l + 32]!;
        const group = l >> 4;
        const q1 = ((lowA & 0x0f) | ((high & 3) << 4)) - 32;
        const q2 = ((lowB & 0x0f) | (((high >> 2) & 3) << 4)) - 32;
        const q3 = ((lowA >> 4) | (((high >> 4) & 3) << 4)) - 32;
        const q4 = ((lowB >> 4) | (((high >> 6) & 3) << 4)) - 32;
        const scale = (index: number) => (bytes[sc + group + index]! << 24) >> 24;
        out[y + l] = fround(fround(d * scale(0)) * q1);
        out[y + l + 32] = fround(fround(d * scale(2)) * q2);
        out[y + l + 64] = fround(fround(d * scale(4)) * q3);
        out[y + l + 96] = fround(fround(d * scale(6)) * q4);
      }
    }
  }
};

/** The 16 non-uniform levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl). */
const KVALUES_IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;

const decodeIQ4_XS: BlockDecoder = (bytes, blockCount, out, outOffset) => {
  const half = f16Table();
  for (let b = 0; b < blockCount; b++) {
    const base = b * 136;
    const d = readHalf(half, bytes, base);
    const scalesHigh = bytes[base + 2]! | (bytes[base + 3]! << 8);
    for (let sub = 0; sub < 8; sub++) {
      const low = (bytes[base + 4 + (sub >> 1)]! >> (4 * (sub & 1))) & 0x0f;
      const scale = low | (((scalesHigh >> (2 * sub)) & 3) << 4);
      const dl = fround(d * (scale - 32));
      const qs = base + 8 + sub * 16;
      const y = outOffset + b * 256 + sub * 32;
      for (let j = 0; j < 16; j++) {
        const q = bytes[qs + j]!;
        out[y + j] = fround(dl * KVALUES_IQ4NL[q & 0x0f]!);
        out[y + j + 16] = fround(dl * KVALUES_IQ4NL[q >> 4]!);
      }
    }
  }
};

function type(name: string, id: number, blockSize: number, typeSize: number, decode?: BlockDecoder): GgmlType {
  return decode === undefined ? { name, id, blockSize, typeSize } : { name, id, blockSize, typeSize, decode };
}

/**
 * Every type id ggml has assigned (ids 4, 5 and 31-33, 36-38 were retired and are absent).
 * Geometry is kept for the types without a decoder so that tensor extents can still be checked.
 */
const ALL_TYPES: readonly GgmlType[] = [
  type("F32", 0, 1, 4, plain(F32)),
  type("F16", 1, 1, 2, plain(F16)),
  type("Q4_0", 2, 32, 18, decodeNibbleBlocks(Q4_0_LEVELS)),
  type("Q4_1", 3, 32, 20, decodeQ4_1),
  type("Q5_0", 6, 32, 22, decodeQ5(false)),
  type("Q5_1", 7, 32, 24, decodeQ5(true)),
  type("Q8_0", 8, 32, 34, decodeQ8_0),
  type("Q8_1", 9, 32, 36),
  type("Q2_K", 10, 256, 84, decodeQ2_K),
  type("Q3_K", 11, 256, 110, decodeQ3_K),
  type("Q4_K", 12, 256, 144, decodeQ4_K),
  type("Q5_K", 13, 256, 176, decodeQ5_K),
  type("Q6_K", 14, 256, 210, decodeQ6_K),
  type("Q8_K", 15, 256, 292),
  type("IQ2_XXS", 16, 256, 66),
  type("IQ2_XS", 17, 256, 74),
  type("IQ3_XXS", 18, 256, 98),
  type("IQ1_S", 19, 256, 50),
  type("IQ4_NL", 20, 32, 18, decodeNibbleBlocks(KVALUES_IQ4NL)),
  type("IQ3_S", 21, 256, 110),
  type("IQ2_S", 22, 256, 82),
  type("IQ4_XS", 23, 256, 136, decodeIQ4_XS),
  type("I8", 24, 1, 1, plain(I8)),
  type("I16", 25, 1, 2, plain(I16)),
  type("I32", 26, 1, 4, plain(I32)),
  type("I64", 27, 1, 8, plain(I64)),
  type("F64", 28, 1, 8, plain(F64)),
  type("IQ1_M", 29, 256, 56),
  type("BF16", 30, 1, 2, plain(BF16)),
  type("TQ1_0", 34, 256, 54),
  type("TQ2_0", 35, 256, 66),
  type("MXFP4", 39, 32, 17),
];

const BY_ID: ReadonlyMap<number, GgmlType> = new Map(ALL_TYPES.map((t) => [t.id, t]));

/** The ggml type with this id, or undefined for an id ggml never assigned. */
export function ggmlType(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

/** Names of the types that can be dequantized, in id order (for documentation and messages). */
export function dequantizableTypeNames(): string[] {
  return ALL_TYPES.filter((t) => t.decode !== undefined).map((t) => t.name);
}
