/**
 * NumPy `.npy` reader (format versions 1.0, 2.0 and 3.0).
 *
 * Layout: magic `\x93NUMPY`, major and minor version bytes, header length (u16 LE in v1, u32 LE in
 * v2/v3), then the header: a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (300, 784), }
 * padded with spaces and a newline (latin-1 in v1/v2, UTF-8 in v3), then the raw array data.
 * The dict is parsed by the small literal parser below (strings, booleans, integers, tuples,
 * lists, dicts), never evaluated.
 *
 * Arrays stored in Fortran (column-major) order are presented row-major: element i of the
 * row-major flattening is fetched from its column-major position, so `read` still returns the
 * PyTorch-orientation row-major elements.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import type { TensorIndex, TensorInfo } from "./tensor.js";
import {
  F16, F16_BE, F32, F32_BE, F64, F64_BE, I16, I16_BE, I32, I32_BE, I64, I64_BE, I8,
  U16, U16_BE, U32, U32_BE, U64, U64_BE, U8, type ElementType,
} from "./dtype.js";
import { columnMajorStrides, rowMajorStrides, stridedTensor } from "./strided.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** NumPy itself refuses headers above this length unless told otherwise. */
const MAX_HEADER_BYTES = 1_000_000;

export function looksLikeNpy(head: Uint8Array): boolean {
  return head.byteLength >= 8 && MAGIC.every((byte, i) => head[i] === byte);
}

export interface NpyHeader {
  readonly version: string;
  /** NumPy dtype string, e.g. `<f4`. */
  readonly descr: string;
  /** alphawatch dtype label (`F32`, `F16`, `I64`, ...). */
  readonly dtype: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the array data. */
  readonly dataOffset: number;
  readonly type: ElementType;
}

interface DescrType {
  readonly dtype: string;
  readonly little: ElementType;
  readonly big: ElementType;
}

const DESCR_TYPES: Readonly<Record<string, DescrType>> = {
  f8: { dtype: "F64", little: F64, big: F64_BE },
  f4: { dtype: "F32", little: F32, big: F32_BE },
  f2: { dtype: "F16", little: F16, big: F16_BE },
  i8: { dtype: "I64", little: I64, big: I64_BE },
  i4: { dtype: "I32", little: I32, big: I32_BE },
  i2: { dtype: "I16", little: I16, big: I16_BE },
  i1: { dtype: "I8", little: I8, big: I8 },
  u8: { dtype: "U64", little: U64, big: U64_BE },
  u4: { dtype: "U32", little: U32, big: U32_BE },
  u2: { dtype: "U16", little: U16, big: U16_BE },
  u1: { dtype: "U8", little: U8, big: U8 },
  b1: { dtype: "BOOL", little: U8, big: U8 },
};

/** Element type of a NumPy descr: byte order (`<`, `>`, `|`, `=`) then kind and size. */
function elementTypeOf(sourceName: string, descr: string): { dtype: string; type: ElementType } {
  const match = /^([<>|=]?)([a-zA-Z]\d+)$/.exec(descr);
  const known = match === null ? undefined : DESCR_TYPES[match[2]!];
  if (match === null || known === undefined) {
    throw new UnsupportedError(`${sourceName}: NumPy dtype ${JSON.stringify(descr)} is not supported (floating point and integer arrays only)`);
  }
  return { dtype: known.dtype, type: match[1] === ">" ? known.big : known.little };
}

/** Parses the header of a `.npy` file or member. */
export async function readNpyHeader(source: ByteSource): Promise<NpyHeader> {
  const fail = (problem: string): never => {
    throw new FormatError(`${source.name}: invalid .npy file: ${problem}`);
  };
  const fileSize = await source.size();
  if (fileSize < 10) fail(`file is ${fileSize} bytes, too short for a header`);
  const prefix = await source.read(0, Math.min(fileSize, 12));
  if (!MAGIC.every((byte, i) => prefix[i] === byte)) fail("magic string \\x93NUMPY is missing");
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if (major < 1 || major > 3) {
    throw new UnsupportedError(`${source.name}: .npy format version ${major}.${minor} is not supported (1.0 to 3.0 are)`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major >= 2 && prefix.byteLength < 12) fail(`file is ${fileSize} bytes, too short for a version ${major} header`);
  const lengthSize = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthSize;
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerStart + headerLength > fileSize) {
    fail(`header length ${headerLength} runs past the end of the file (${fileSize} bytes)`);
  }
  const headerBytes = await source.read(headerStart, headerLength);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(headerBytes);
  let dict: unknown;
  try {
    dict = parsePythonLiteral(text);
  } catch (error) {
    fail(`header is not a Python dict literal (${(error as Error).message})`);
  }
  if (!(dict instanceof Map)) fail("header is not a dict");
  const header = dict as Map<unknown, unknown>;
  const descr = header.get("descr");
  const fortran = header.get("fortran_order");
  const shape = header.get("shape");
  if (typeof descr !== "string") {
    if (descr !== undefined) {
      throw new UnsupportedError(`${source.name}: structured NumPy arrays (record dtypes) are not supported`);
    }
    fail("header has no 'descr'");
  }
  if (typeof fortran !== "boolean") fail("header has no boolean 'fortran_order'");
  if (!(shape instanceof PyTuple)) fail("header has no 'shape' tuple");
  const dims = (shape as PyTuple).items;
  for (const dim of dims) {
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      fail(`shape ${text.match(/'shape':\s*(\([^)]*\))/)?.[1] ?? "?"} has an invalid dimension ${String(dim)}`);
    }
  }
  const { dtype, type } = elementTypeOf(source.name, descr as string);
  const count = (dims as number[]).reduce((product, dim) => product * dim, 1);
  const dataOffset = headerStart + headerLength;
  if (!Number.isSafeInteger(count * type.size)) fail(`shape (${dims.join(", ")}) is too large`);
  if (dataOffset + count * type.size > fileSize) {
    fail(`array data needs ${count * type.size} bytes, the file has ${fileSize - dataOffset} after the header (truncated?)`);
  }
  return {
    version: `${major}.${minor}`,
    descr: descr as string,
    dtype,
    fortranOrder: fortran as boolean,
    shape: dims as number[],
    dataOffset,
    type,
  };
}

/** The tensor held by one `.npy` file or `.npz` member. */
export async function npyTensor(source: ByteSource, name: string): Promise<TensorInfo> {
  const header = await readNpyHeader(source);
  const strides = header.fortranOrder ? columnMajorStrides(header.shape) : rowMajorStrides(header.shape);
  return stridedTensor(source, name, header.dtype, header.shape, strides, 0, header.dataOffset, header.type);
}

/** Reads a single `.npy` file; the tensor is named after the file (without `.npy`). */
export async function readNpy(source: ByteSource): Promise<TensorIndex> {
  const tensor = await npyTensor(source, npyTensorName(source.name));
  return { format: "npy", tensors: [tensor], metadata: {}, skipped: [] };
}

/** `dir/fc1.weight.npy` → `fc1.weight`. */
export function npyTensorName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.endsWith(".npy") ? base.slice(0, -4) : base;
}

// ---------------------------------------------------------------------------------------------
// Python literal parser for .npy headers.

/** A Python tuple (kept apart from lists so that `shape` can be checked to be one). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/**
 * Parses the subset of Python literals NumPy writes into headers: dicts, tuples, lists, strings
 * ('...' or "..." with backslash escapes), integers, True, False, None.
 */
export function parsePythonLiteral(text: string): unknown {
  let at = 0;
  const skipSpace = (): void => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const expect = (c: string): void => {
    skipSpace();
    if (text[at] !== c) throw new Error(`expected '${c}' at character ${at}`);
    at++;
  };
  const value = (depth: number): unknown => {
    if (depth > 32) throw new Error("nesting too deep");
    skipSpace();
    const c = text[at];
    if (c === "{") {
      at++;
      const map = new Map<unknown, unknown>();
      for (;;) {
        skipSpace();
        if (text[at] === "}") { at++; return map; }
        const key = value(depth + 1);
        expect(":");
        map.set(key, value(depth + 1));
        skipSpace();
        if (text[at] === ",") at++;
        else if (text[at] !== "}") throw new Error(`expected ',' or '}' at character ${at}`);
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      at++;
      const items: unknown[] = [];
      for (;;) {
        skipSpace();
        if (text[at] === close) { at++; break; }
        items.push(value(depth + 1));
        skipSpace();
        if (text[at] === ",") at++;
        else if (text[at] !== close) throw new Error(`expected ',' or '${close}' at character ${at}`);
      }
      return c === "(" ? new PyTuple(items) : items;
    }
    if (c === "'" || c === '"') {
      at++;
      let out = "";
      while (at < text.length && text[at] !== c) {
        if (text[at] === "\\") {
          const next = text[at + 1];
          out += next === "n" ? "\n" : next === "t" ? "\t" : next ?? "";
          at += 2;
        } else {
          out += text[at++];
        }
      }
      if (at >= text.length) throw new Error("unterminated string");
      at++;
      return out;
    }
    const word = /^(True|False|None|[-+]?\d+L?)/.exec(text.slice(at, at + 32));
    if (word === null) throw new Error(`unexpected ${JSON.stringify(text.slice(at, at + 10))} at character ${at}`);
    at += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    return Number(word[0].replace(/L$/, ""));
  };
  const result = value(0);
  skipSpace();
  if (at !== text.length) throw new Error(`unexpected text after the literal at character ${at}`);
  return result;
}
