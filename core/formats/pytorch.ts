/**
 * PyTorch checkpoint reader: the zip format of `torch.save` (PyTorch >= 1.6: `<prefix>/data.pkl`
 * plus one member `<prefix>/data/<key>` per storage; `.pt`, `.pth`, `pytorch_model.bin`) and the
 * legacy format (before 1.6: a stream of pickles, magic number, protocol version, system info,
 * the object, the list of storage keys, then each storage as an 8-byte element count followed
 * by its bytes).
 *
 * The pickles are run by the restricted interpreter in pickle.ts with the models below: nothing
 * is executed; any global outside this table is refused by name. Tensors are presented through
 * ranged reads of their storage (stored zip members are plain ranges of the file); views with
 * non-row-major strides are read element by element from the span they cover (strided.ts).
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import type { SkippedTensor, TensorIndex, TensorInfo } from "./tensor.js";
import {
  BF16, F16, F32, F64, I16, I32, I64, I8, U8, type ElementType,
} from "./dtype.js";
import { PickleGlobal, PickleObject, PickleTruncatedError, PickleTuple, unpickle, type GlobalModel } from "./pickle.js";
import { describeMembers, looksLikeZip, memberSource, openZip, readWholeMember, type ZipArchive } from "./zip.js";
import { stridedTensor } from "./strided.js";

/** Pickles above this size are refused rather than held in memory. */
export const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

interface StorageType {
  readonly dtype: string;
  readonly type: ElementType;
}

/** Typed storage classes of `torch` and the element type each holds. */
const STORAGE_TYPES: Readonly<Record<string, StorageType>> = {
  FloatStorage: { dtype: "F32", type: F32 },
  DoubleStorage: { dtype: "F64", type: F64 },
  HalfStorage: { dtype: "F16", type: F16 },
  BFloat16Storage: { dtype: "BF16", type: BF16 },
  LongStorage: { dtype: "I64", type: I64 },
  IntStorage: { dtype: "I32", type: I32 },
  ShortStorage: { dtype: "I16", type: I16 },
  CharStorage: { dtype: "I8", type: I8 },
  ByteStorage: { dtype: "U8", type: U8 },
  BoolStorage: { dtype: "BOOL", type: U8 },
};

/** Storage classes that are valid but hold values alphawatch cannot present as reals. */
const UNPRESENTABLE_STORAGES: Readonly<Record<string, { readonly dtype: string; readonly size: number; readonly reason: string }>> = {
  ComplexFloatStorage: { dtype: "C64", size: 8, reason: "complex dtype complex64 has no real-valued spectrum to analyze" },
  ComplexDoubleStorage: { dtype: "C128", size: 16, reason: "complex dtype complex128 has no real-valued spectrum to analyze" },
  QInt8Storage: { dtype: "QINT8", size: 1, reason: "quantized tensors (qint8) are not supported" },
  QUInt8Storage: { dtype: "QUINT8", size: 1, reason: "quantized tensors (quint8) are not supported" },
  QInt32Storage: { dtype: "QINT32", size: 4, reason: "quantized tensors (qint32) are not supported" },
};

/** One storage as a persistent id names it. */
export interface StorageRef {
  readonly key: string;
  readonly className: string;
  readonly dtype: string;
  /** Element size in bytes. */
  readonly elementSize: number;
  readonly type: ElementType | undefined;
  /** Reason the storage's values cannot be presented, when they cannot. */
  readonly unpresentable: string | undefined;
  /** Elements the pickle says the storage holds (legacy format: the stored record says it again). */
  readonly numel: number | undefined;
  /** Legacy views into a root storage: element offset into the root. */
  readonly viewOffset: number;
}

/** What `torch._utils._rebuild_tensor_v2` and friends produce. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
  ) {}
}

const REFUSAL_HINT = "Only state dicts of tensors (and plain containers of them) can be read; save with `torch.save(model.state_dict(), path)` or convert to safetensors.";

function globalModels(name: string): Map<string, GlobalModel> {
  const bad = (problem: string): never => {
    throw new FormatError(`${name}: ${problem}`);
  };
  const rebuildTensor: GlobalModel = (args) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRefBox)) bad("tensor rebuilt from something that is not a storage");
    const shape = dimensions(size) ?? bad(`tensor size ${describe(size)} is not a tuple of non-negative integers`);
    const strides = dimensions(stride) ?? bad(`tensor stride ${describe(stride)} is not a tuple of non-negative integers`);
    if (strides.length !== shape.length) bad(`tensor size ${describe(size)} and stride ${describe(stride)} differ in length`);
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) bad(`tensor storage offset ${describe(offset)} is invalid`);
    return new TensorRef((storage as StorageRefBox).ref, offset as number, shape, strides);
  };
  const models = new Map<string, GlobalModel>([
    ["collections.OrderedDict", (args) => {
      const map = new Map<unknown, unknown>();
      const items = args[0];
      if (Array.isArray(items)) {
        for (const pair of items) if (pair instanceof PickleTuple && pair.items.length === 2) map.set(pair.items[0], pair.items[1]);
      }
      return map;
    }],
    ["torch._utils._rebuild_tensor", rebuildTensor],
    ["torch._utils._rebuild_tensor_v2", rebuildTensor],
    ["torch._utils._rebuild_parameter", (args) => args[0]],
    ["torch._utils._rebuild_parameter_with_state", (args) => args[0]],
    ["torch._utils._rebuild_qtensor", () => {
      throw new UnsupportedError(`${name}: quantized tensors (torch._utils._rebuild_qtensor) are not supported`);
    }],
    ["torch.device", (args) => new PickleObject("torch.device", args)],
    ["torch.Size", (args) => new PickleTuple(Array.isArray(args[0]) ? args[0] : args[0] instanceof PickleTuple ? args[0].items : [])],
    ["builtins.set", (args) => new Set(Array.isArray(args[0]) ? args[0] : [])],
    ["builtins.frozenset", (args) => new Set(Array.isArray(args[0]) ? args[0] : [])],
    // Plain data that training scripts put next to the state dict (epoch counters as NumPy
    // scalars, argparse options): modeled as inert descriptions, never constructed.
    ["_codecs.encode", (args) => (typeof args[0] === "string" ? new TextEncoder().encode(args[0]) : new Uint8Array())],
    ["numpy.core.multiarray.scalar", (args) => new PickleObject("numpy.scalar", args)],
    ["numpy._core.multiarray.scalar", (args) => new PickleObject("numpy.scalar", args)],
    ["numpy.dtype", (args) => new PickleObject("numpy.dtype", args)],
    ["argparse.Namespace", (args) => new PickleObject("argparse.Namespace", args)],
  ]);
  const notCallable = (qualified: string): GlobalModel => () => bad(`pickle calls ${qualified}, which a checkpoint never does`);
  for (const storage of [...Object.keys(STORAGE_TYPES), ...Object.keys(UNPRESENTABLE_STORAGES), "UntypedStorage"]) {
    models.set(`torch.${storage}`, notCallable(`torch.${storage}`));
  }
  for (const dtype of ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]) {
    models.set(`torch.${dtype}`, notCallable(`torch.${dtype}`));
  }
  return models;
}

/** Wraps a storage reference so that a tuple or string in the pickle can never pass for one. */
class StorageRefBox {
  constructor(readonly ref: StorageRef) {}
}

function describe(value: unknown): string {
  if (value instanceof PickleTuple) return `(${value.items.map(describe).join(", ")})`;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return String(value);
}

/** A tuple (or list) of non-negative integers, or undefined. */
function dimensions(value: unknown): number[] | undefined {
  const items = value instanceof PickleTuple ? value.items : Array.isArray(value) ? value : undefined;
  if (items === undefined) return undefined;
  const out: number[] = [];
  for (const item of items) {
    if (typeof item !== "number" || !Number.isSafeInteger(item) || item < 0) return undefined;
    out.push(item);
  }
  return out;
}

/**
 * Interprets a persistent id `('storage', <storage class>, key, location, numel[, view])`.
 * Records each storage the pickle names in `seen` (legacy format: needed to walk the records).
 */
function storageLoader(name: string, seen: Map<string, StorageRef>): (pid: unknown) => unknown {
  return (pid) => {
    if (!(pid instanceof PickleTuple) || pid.items[0] !== "storage" || pid.items.length < 5) {
      throw new FormatError(`${name}: unexpected persistent id ${describe(pid)} (expected a storage)`);
    }
    const [, cls, key, , numel, view] = pid.items;
    if (!(cls instanceof PickleGlobal) || cls.module !== "torch") {
      throw new FormatError(`${name}: storage ${describe(key)} has no torch storage class`);
    }
    if (typeof key !== "string") throw new FormatError(`${name}: storage key ${describe(key)} is not a string`);
    const known = STORAGE_TYPES[cls.name];
    const other = UNPRESENTABLE_STORAGES[cls.name];
    if (known === undefined && other === undefined) {
      throw new UnsupportedError(`${name}: storage class torch.${cls.name} is not supported`);
    }
    if (numel !== undefined && (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0)) {
      throw new FormatError(`${name}: storage ${key} has an invalid element count ${describe(numel)}`);
    }
    // `key` names the root storage; legacy views add (view_key, element offset, view_size).
    const rootKey = key;
    let viewOffset = 0;
    if (view instanceof PickleTuple) {
      const [, offset] = view.items;
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
        throw new FormatError(`${name}: storage view of ${key} has an invalid offset ${describe(offset)}`);
      }
      viewOffset = offset;
    }
    const ref: StorageRef = {
      key: rootKey,
      className: cls.name,
      dtype: known?.dtype ?? other!.dtype,
      elementSize: known?.type.size ?? other!.size,
      type: known?.type,
      unpresentable: known === undefined ? other!.reason : undefined,
      numel: numel as number | undefined,
      viewOffset,
    };
    const previous = seen.get(rootKey);
    if (previous !== undefined && previous.className !== ref.className) {
      throw new FormatError(`${name}: storage ${rootKey} is named with two different classes`);
    }
    if (previous === undefined) seen.set(rootKey, ref);
    return new StorageRefBox(ref);
  };
}

/** Keys under which training scripts nest the state dict, in the order they are tried. */
const NESTED_STATE_DICT_KEYS = ["state_dict", "model_state_dict", "model", "module", "net", "network", "ema", "model_ema", "params"];

/**
 * The state dict in an unpickled checkpoint: the object itself when it maps names to tensors,
 * else the first of the known nesting keys that leads to one.
 */
export function findStateDict(root: unknown, depth = 0): Map<unknown, unknown> | undefined {
  if (!(root instanceof Map) || depth > 4) return undefined;
  for (const value of root.values()) if (value instanceof TensorRef) return root;
  for (const key of NESTED_STATE_DICT_KEYS) {
    const found = findStateDict(root.get(key), depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function describeTopLevel(root: unknown): string {
  if (root instanceof Map) {
    const keys = [...root.keys()].slice(0, 8).map(describe);
    return `a dict with keys ${keys.join(", ")}${root.size > 8 ? ", ..." : ""}`;
  }
  if (root instanceof TensorRef) return "a single tensor";
  if (Array.isArray(root)) return `a list of ${root.length} items`;
  return `a ${root instanceof PickleObject ? root.className : typeof root}`;
}

interface StorageBytes {
  /** Source of the storage's bytes (the zip member, or the legacy file). */
  readonly source: ByteSource;
  /** Byte offset of the storage's first element in `source`. */
  readonly byteOffset: number;
  /** Elements the storage holds. */
  readonly numel: number;
}

/** Tensors of the state dict (or the single tensor), in the pickle's order. */
async function presentTensors(
  sourceName: string,
  root: unknown,
  locate: (ref: StorageRef) => Promise<StorageBytes>,
): Promise<{ tensors: TensorInfo[]; skipped: SkippedTensor[] }> {
  let entries: [string, TensorRef][];
  if (root instanceof TensorRef) {
    entries = [["tensor", root]];
  } else {
    const stateDict = findStateDict(root);
    if (stateDict === undefined) {
      throw new FormatError(`${sourceName}: no tensors found in the checkpoint (it holds ${describeTopLevel(root)}; looked for a state dict at the top and under ${NESTED_STATE_DICT_KEYS.map((k) => `"${k}"`).join(", ")})`);
    }
    entries = [];
    for (const [key, value] of stateDict) {
      if (value instanceof TensorRef) entries.push([typeof key === "string" ? key : describe(key), value]);
    }
  }
  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  for (const [name, ref] of entries) {
    const storage = ref.storage;
    if (storage.type === undefined) {
      skipped.push({ name, reason: storage.unpresentable ?? `storage class ${storage.className} is not supported` });
      continue;
    }
    const bytes = await locate(storage);
    const start = storage.viewOffset + ref.offset;
    let last = start;
    let empty = false;
    for (let d = 0; d < ref.shape.length; d++) {
      if (ref.shape[d] === 0) empty = true;
      last += (ref.shape[d]! - 1) * ref.strides[d]!;
    }
    if (!empty && (!Number.isSafeInteger(last) || last >= bytes.numel)) {
      throw new FormatError(`${sourceName}: tensor "${name}" (size ${JSON.stringify(ref.shape)}, stride ${JSON.stringify(ref.strides)}, offset ${ref.offset}) reaches element ${last} of storage ${storage.key}, which holds ${bytes.numel}`);
    }
    tensors.push(stridedTensor(bytes.source, name, storage.dtype, ref.shape, ref.strides, start, bytes.byteOffset, storage.type));
  }
  return { tensors, skipped };
}

// ---------------------------------------------------------------------------------------------
// Zip format

/** The `<prefix>/data.pkl` member of a torch zip checkpoint, if there is one. */
function findDataPickle(archive: ZipArchive): string | undefined {
  for (const entry of archive.entries) {
    const match = /^([^/]+\/)?data\.pkl$/.exec(entry.name);
    if (match !== null) return entry.name;
  }
  return undefined;
}

export async function looksLikeTorchZip(head: Uint8Array, _fileSize: number, source: ByteSource): Promise<boolean> {
  if (!looksLikeZip(head)) return false;
  try {
    return findDataPickle(await openZip(source)) !== undefined;
  } catch {
    return false;
  }
}

export async function readTorchZip(source: ByteSource): Promise<TensorIndex> {
  const archive = await openZip(source);
  const pickleName = findDataPickle(archive);
  if (pickleName === undefined) {
    throw new FormatError(`${source.name}: zip archive but not a PyTorch checkpoint (no data.pkl; ${describeMembers(archive)})`);
  }
  const prefix = pickleName.slice(0, -"data.pkl".length);
  const byteOrder = archive.byName.get(`${prefix}byteorder`);
  if (byteOrder !== undefined) {
    const order = new TextDecoder().decode(await readWholeMember(archive, byteOrder, 16)).trim();
    if (order !== "little") throw new UnsupportedError(`${source.name}: checkpoint saved with byte order "${order}"; only little-endian checkpoints are supported`);
  }
  const pickleBytes = await readWholeMember(archive, archive.byName.get(pickleName)!, MAX_PICKLE_BYTES);
  const seen = new Map<string, StorageRef>();
  const pickleSource = `${source.name}:${pickleName}`;
  const { value: root } = unpickle(pickleBytes, {
    name: pickleSource,
    globals: globalModels(pickleSource),
    persistentLoad: storageLoader(pickleSource, seen),
    refusalHint: REFUSAL_HINT,
  });
  const located = new Map<string, StorageBytes>();
  const { tensors, skipped } = await presentTensors(source.name, root, async (ref) => {
    let bytes = located.get(ref.key);
    if (bytes === undefined) {
      const entry = archive.byName.get(`${prefix}data/${ref.key}`);
      if (entry === undefined) throw new FormatError(`${source.name}: storage member ${prefix}data/${ref.key} is missing`);
      if (entry.uncompressedSize % ref.elementSize !== 0) {
        throw new FormatError(`${source.name}: storage member ${entry.name} holds ${entry.uncompressedSize} bytes, not a whole number of ${ref.dtype} elements`);
      }
      bytes = { source: memberSource(archive, entry), byteOffset: 0, numel: entry.uncompressedSize / ref.elementSize };
      located.set(ref.key, bytes);
    }
    return bytes;
  });
  return { format: "pytorch", tensors, metadata: { container: "zip" }, skipped };
}

// ---------------------------------------------------------------------------------------------
// Legacy format

/** LONG1 of the magic number 0x1950a86a20f9469cfc6c, as every legacy file's first pickle holds it. */
const LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

export function looksLikeTorchLegacy(head: Uint8Array): boolean {
  return head.byteLength >= 14 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5 &&
    LEGACY_MAGIC.every((byte, i) => head[2 + i] === byte);
}

export async function readTorchLegacy(source: ByteSource): Promise<TensorIndex> {
  const fileSize = await source.size();
  // The pickles come first and their length is not recorded: parse a growing prefix of the file.
  let window = Math.min(fileSize, 1024 * 1024);
  for (;;) {
    const bytes = await source.read(0, window);
    try {
      return await readLegacyPickles(source, bytes, fileSize);
    } catch (error) {
      if (!(error instanceof PickleTruncatedError) || window === fileSize) throw error;
      if (window >= MAX_PICKLE_BYTES) {
        throw new FormatError(`${source.name}: legacy PyTorch pickles exceed the ${MAX_PICKLE_BYTES}-byte limit`);
      }
      window = Math.min(fileSize, window * 4);
    }
  }
}

async function readLegacyPickles(source: ByteSource, bytes: Uint8Array, fileSize: number): Promise<TensorIndex> {
  const name = source.name;
  const plain = { name, globals: new Map<string, GlobalModel>() };
  const magic = unpickle(bytes, plain, 0);
  if (magic.value !== LEGACY_MAGIC_NUMBER) throw new FormatError(`${name}: not a legacy PyTorch checkpoint (wrong magic number)`);
  const protocol = unpickle(bytes, plain, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    throw new UnsupportedError(`${name}: legacy PyTorch protocol version ${describe(protocol.value)} is not supported (only ${LEGACY_PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickle(bytes, plain, protocol.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw new UnsupportedError(`${name}: checkpoint saved on a big-endian machine; only little-endian checkpoints are supported`);
  }
  const seen = new Map<string, StorageRef>();
  const main = unpickle(bytes, {
    name,
    globals: globalModels(name),
    persistentLoad: storageLoader(name, seen),
    refusalHint: REFUSAL_HINT,
  }, sysInfo.end);
  const keys = unpickle(bytes, plain, main.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    throw new FormatError(`${name}: the list of storage keys after the pickled object is malformed`);
  }
  // Storage records follow in the order of that list: u64 element count, then the elements.
  const located = new Map<string, StorageBytes>();
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const ref = seen.get(key);
    if (ref === undefined) throw new FormatError(`${name}: storage ${key} is listed but never used by the pickled object`);
    if (at + 8 > fileSize) throw new FormatError(`${name}: storage ${key} record starts past the end of the file (truncated?)`);
    const countBytes = await source.read(at, 8);
    const numel = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigUint64(0, true);
    const byteLength = numel * BigInt(ref.elementSize);
    if (BigInt(at + 8) + byteLength > BigInt(fileSize)) {
      throw new FormatError(`${name}: storage ${key} declares ${numel} elements, which run past the end of the file (truncated?)`);
    }
    located.set(key, { source, byteOffset: at + 8, numel: Number(numel) });
    at += 8 + Number(byteLength);
  }
  const { tensors, skipped } = await presentTensors(name, main.value, async (ref) => {
    const bytes = located.get(ref.key);
    if (bytes === undefined) throw new FormatError(`${name}: storage ${ref.key} has no data record in the file`);
    return bytes;
  });
  return { format: "pytorch", tensors, metadata: { container: "legacy" }, skipped };
}

/** Readers of a zip that is neither a PyTorch checkpoint nor an .npz get this precise refusal. */
export async function rejectOtherZip(source: ByteSource): Promise<TensorIndex> {
  const archive = await openZip(source);
  throw new FormatError(`${source.name}: zip archive that is neither a PyTorch checkpoint (no <prefix>/data.pkl) nor a NumPy .npz (not all members are .npy): ${describeMembers(archive)}`);
}
