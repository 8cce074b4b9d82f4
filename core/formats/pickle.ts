/**
 * A restricted pickle interpreter (protocols 0 to 5) for reading checkpoints.
 *
 * It builds plain data (numbers, strings, bytes, lists, tuples, dicts as Maps, sets) and never
 * calls anything: a GLOBAL (or STACK_GLOBAL, INST) is looked up in the caller's table of
 * *models*, plain functions that build a description of what Python would have built (for
 * `torch._utils._rebuild_tensor_v2`: a tensor reference). A global that is not in the table is
 * refused the moment it is named, before any REDUCE could apply it. Persistent ids (BINPERSID,
 * PERSID) go to the caller's `persistentLoad`.
 */
import { FormatError } from "../errors.js";
import { strictUtf8 } from "./text.js";

/** A Python tuple. */
export class PickleTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A reference to an allowed global, as pushed by GLOBAL / STACK_GLOBAL. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly model: GlobalModel,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** What a call of an allowed global produces: `args` are the positional arguments. */
export type GlobalModel = (args: readonly unknown[], kwargs?: ReadonlyMap<unknown, unknown>) => unknown;

/** An object a model chose to describe by its class and arguments (e.g. `torch.device('cpu')`). */
export class PickleObject {
  state: unknown = undefined;
  constructor(
    readonly className: string,
    readonly args: readonly unknown[],
  ) {}
}

export interface UnpickleOptions {
  /** File name for error messages. */
  readonly name: string;
  /** Allowed globals, keyed `module.name`. */
  readonly globals: ReadonlyMap<string, GlobalModel>;
  /** Resolves a persistent id; without it, persistent ids are refused. */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** Short hint appended to the refusal of an unknown global. */
  readonly refusalHint?: string;
}

/** The pickle ran past the end of the bytes it was given (a caller may retry with more). */
export class PickleTruncatedError extends FormatError {}

/** Longest LONG4 integer accepted, in bytes. */
const MAX_LONG_BYTES = 1024;

/**
 * Runs the pickle that starts at `offset` of `bytes` up to its STOP opcode.
 * Returns the value and the offset just after STOP.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions, offset = 0): { value: unknown; end: number } {
  const name = options.name;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder("latin1");
  const utf8 = strictUtf8;
  let at = offset;
  let opcodeAt = offset;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const fail = (problem: string): never => {
    throw new FormatError(`${name}: invalid pickle at byte ${opcodeAt}: ${problem}`);
  };
  const need = (n: number): void => {
    if (!Number.isSafeInteger(n) || n < 0 || at + n > bytes.byteLength) {
      throw new PickleTruncatedError(`${name}: pickle is truncated: opcode at byte ${opcodeAt} needs ${n} bytes, ${bytes.byteLength - at} remain`);
    }
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const u8 = (): number => { need(1); return bytes[at++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(at, true); at += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(at, true); at += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(at, true); at += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(bytes.byteLength)) {
      throw new PickleTruncatedError(`${name}: pickle is truncated: opcode at byte ${opcodeAt} declares ${v} bytes, ${bytes.byteLength - at} remain`);
    }
    return Number(v);
  };
  const line = (): string => {
    let end = at;
    while (end < bytes.byteLength && bytes[end] !== 0x0a) end++;
    if (end >= bytes.byteLength) throw new PickleTruncatedError(`${name}: pickle is truncated inside a text line at byte ${opcodeAt}`);
    const text = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const text = (raw: Uint8Array): string => {
    try {
      return utf8.decode(raw);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) fail("no MARK on the stack");
    const items = stack.splice(mark!);
    return items;
  };
  const lookupGlobal = (module: string, qualname: string): PickleGlobal => {
    const key = `${module}.${qualname}`;
    const model = options.globals.get(key);
    if (model === undefined) {
      const hint = options.refusalHint === undefined ? "" : ` ${options.refusalHint}`;
      throw new FormatError(`${name}: refuses to load ${key}: the pickle names a Python object outside the checkpoint data alphawatch models, and pickles are never executed.${hint}`);
    }
    return new PickleGlobal(module, qualname, model);
  };
  const call = (callable: unknown, args: unknown, kwargs?: unknown): unknown => {
    if (!(callable instanceof PickleGlobal)) fail("call of something that is not an allowed global");
    if (!(args instanceof PickleTuple)) fail(`arguments of ${(callable as PickleGlobal).qualifiedName} are not a tuple`);
    const keywords = kwargs === undefined ? undefined : kwargs instanceof Map ? kwargs : fail("keyword arguments are not a dict");
    return (callable as PickleGlobal).model((args as PickleTuple).items, keywords);
  };
  const setItems = (target: unknown, items: readonly unknown[]): void => {
    if (!(target instanceof Map)) fail("SETITEM(S) on something that is not a dict");
    if (items.length % 2 !== 0) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: readonly unknown[]): void => {
    if (!Array.isArray(target)) fail("APPEND(S) on something that is not a list");
    for (const item of items) (target as unknown[]).push(item);
  };
  const addItems = (target: unknown, items: readonly unknown[]): void => {
    if (!(target instanceof Set)) fail("ADDITEMS on something that is not a set");
    for (const item of items) (target as Set<unknown>).add(item);
  };
  const signedLittleEndian = (raw: Uint8Array): number | bigint => {
    if (raw.byteLength === 0) return 0;
    let value = 0n;
    for (let i = raw.byteLength - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[raw.byteLength - 1]! & 0x80) value -= 1n << BigInt(raw.byteLength * 8);
    return narrow(value);
  };
  const persistent = (pid: unknown): unknown => {
    if (options.persistentLoad === undefined) fail("persistent id without a loader");
    return options.persistentLoad!(pid);
  };

  for (;;) {
    opcodeAt = at;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol > 5) fail(`pickle protocol ${protocol} is newer than 5`);
        break;
      }
      case 0x95: take(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: at };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(signedLittleEndian(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail("negative LONG4 length");
        // Checkpoints never hold integers this long; decoding one costs time quadratic in its length.
        if (n > MAX_LONG_BYTES) fail(`LONG4 of ${n} bytes is longer than the ${MAX_LONG_BYTES}-byte limit`);
        stack.push(signedLittleEndian(take(n)));
        break;
      }
      case 0x49: { // INT (text)
        const digits = line().trim();
        if (digits === "01") stack.push(true);
        else if (digits === "00") stack.push(false);
        else stack.push(parseInteger(digits) ?? fail(`INT ${JSON.stringify(digits.slice(0, 20))} is not an integer`));
        break;
      }
      case 0x4c: { // LONG (text)
        const digits = line().trim().replace(/L$/, "");
        stack.push(parseInteger(digits) ?? fail(`LONG ${JSON.stringify(digits.slice(0, 20))} is not an integer`));
        break;
      }
      case 0x47: { // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      }
      case 0x46: { // FLOAT (text)
        const value = Number(line().trim());
        if (Number.isNaN(value)) fail("FLOAT is not a number");
        stack.push(value);
        break;
      }
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(take(u64()))); break; // BINUNICODE8
      case 0x56: stack.push(decodeRawUnicodeEscape(line())); break; // UNICODE (text)
      case 0x54: { // BINSTRING (Python 2 str)
        const n = i32();
        if (n < 0) fail("negative BINSTRING length");
        stack.push(latin1.decode(take(n)));
        break;
      }
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x53: stack.push(decodeQuotedString(line()) ?? fail("STRING is not a quoted string")); break; // STRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(take(u64()).slice()); break; // BYTEARRAY8
      case 0x29: stack.push(new PickleTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PickleTuple(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); stack.push(new PickleTuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PickleTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PickleTuple([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const item = pop(); appendItems(top(), [item]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const map = new Map(); setItems(map, popMark()); stack.push(map); break; } // DICT
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); addItems(top(), items); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x70: memo.set(parseMemoIndex(line()) ?? fail("PUT index is not an integer"), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: case 0x68: case 0x6a: { // GET, BINGET, LONG_BINGET
        const index = op === 0x67 ? parseMemoIndex(line()) ?? fail("GET index is not an integer") : op === 0x68 ? u8() : u32();
        if (!memo.has(index)) fail(`memo entry ${index} was never stored`);
        stack.push(memo.get(index));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(lookupGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const qualname = pop();
        const module = pop();
        if (typeof module !== "string" || typeof qualname !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(lookupGlobal(module as string, qualname as string));
        break;
      }
      case 0x52: { const args = pop(); const callable = pop(); stack.push(call(callable, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x92: { const kwargs = pop(); const args = pop(); const cls = pop(); stack.push(call(cls, args, kwargs)); break; } // NEWOBJ_EX
      case 0x69: { // INST
        const module = line();
        const cls = lookupGlobal(module, line());
        stack.push(call(cls, new PickleTuple(popMark())));
        break;
      }
      case 0x6f: { // OBJ
        const items = popMark();
        if (items.length === 0) fail("OBJ without a class");
        stack.push(call(items[0], new PickleTuple(items.slice(1))));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        // Attribute state of dicts (OrderedDict's _metadata) is not data we use; modeled objects keep theirs.
        if (target instanceof PickleObject) target.state = state;
        break;
      }
      case 0x51: { const pid = pop(); stack.push(persistent(pid)); break; } // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID
      case 0x82: case 0x83: case 0x84: // EXT1, EXT2, EXT4
        fail("extension registry codes (EXT1/EXT2/EXT4) are not supported");
        break;
      case 0x97: case 0x98: // NEXT_BUFFER, READONLY_BUFFER
        fail("out-of-band buffers (protocol 5 NEXT_BUFFER) are not supported");
        break;
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function parseInteger(digits: string): number | bigint | undefined {
  if (!/^[-+]?\d{1,2500}$/.test(digits)) return undefined;
  return narrow(BigInt(digits));
}

function parseMemoIndex(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** Protocol 0 STRING: a Python repr, quoted with ' or ", with backslash escapes. */
function decodeQuotedString(raw: string): string | undefined {
  const quoted = raw.trim();
  const quote = quoted[0];
  if (quoted.length < 2 || (quote !== "'" && quote !== '"') || quoted[quoted.length - 1] !== quote) return undefined;
  return decodeEscapes(quoted.slice(1, -1));
}

/** Protocol 0 UNICODE: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes). */
function decodeRawUnicodeEscape(raw: string): string {
  return raw.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, short: string | undefined, long: string | undefined) => {
    const code = parseInt(short ?? long ?? "0", 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : "\ufffd";
  });
}

function decodeEscapes(body: string): string {
  const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, escape: string) =>
    escape[0] === "x" && escape.length === 3 ? String.fromCharCode(parseInt(escape.slice(1), 16)) : simple[escape] ?? escape);
}
