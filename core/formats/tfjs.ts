/**
 * TensorFlow.js reader: `model.json` (layers model: Keras `modelTopology`; graph model: GraphDef
 * `modelTopology.node`, `format: "graph-model"`) or a bare weights manifest (a JSON array of
 * groups), plus its binary weight shards.
 *
 * weightsManifest: [{ paths: [shard, ...], weights: [{ name, shape, dtype, quantization? }] }]
 *   The shards of one group are concatenated; each weight occupies its *stored* size (element
 *   count x stored bytes: float32/int32 4, float16 2, bool/uint8 1; with `quantization`, the
 *   quantized dtype's size) at the running sum of the sizes before it.
 *   quantization { dtype: uint8 | uint16, scale, min }: value = q * scale + min, rounded to float32
 *   as TF.js does; { dtype: float16 }: IEEE half floats.
 * Kernels are stored in TensorFlow orientation and presented in PyTorch orientation; names are
 * mapped so that the main weight of a layer ends in `.weight` (see `presentedName`).
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, SourceError, UnsupportedError } from "../errors.js";
import { halfToFloat } from "./dtype.js";
import { elementCount, type SkippedTensor, type TensorIndex, type TensorInfo } from "./tensor.js";
import {
  WholeTensorCache,
  identityLayout,
  presentedTensor,
  tfDepthwiseLayout,
  tfKernelLayout,
  type ElementReader,
  type TensorLayout,
} from "./layout.js";
import { kerasWeightName, type KerasLayerClass, kerasLayerClasses, kerasWeightLayout } from "./keras-naming.js";
import { lenientUtf8, strictUtf8 } from "./text.js";

/** model.json files are small; a larger "JSON" is not one. */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Shards are located by path; more groups or shards than this is not a real model. */
const MAX_SHARDS = 10_000;

const HINT_KEYS = ['"weightsManifest"', '"modelTopology"', '"paths"', '"weights"', '"format"', '"generatedBy"', '"convertedBy"'];

/**
 * True when the head is JSON text (object or array) naming TF.js keys; `read` checks the rest.
 * Whether the whole file is a TF.js model is decided by parsing it (see `looksLikeTfjsModel`).
 */
export async function looksLikeTfjs(head: Uint8Array, fileSize: number, source: ByteSource): Promise<boolean> {
  const first = head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf);
  if (first !== 0x7b && first !== 0x5b) return false;
  if (fileSize > MAX_MODEL_JSON_BYTES) return false;
  const text = lenientUtf8.decode(head);
  if (!HINT_KEYS.some((key) => text.includes(key))) return false;
  try {
    const json = JSON.parse(new TextDecoder("utf-8").decode(await source.read(0, fileSize))) as unknown;
    return manifestOf(json) !== undefined;
  } catch {
    return false;
  }
}

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: { readonly dtype: string; readonly scale?: number; readonly min?: number };
}

interface WeightGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightSpec[];
}

/** The weightsManifest of a model.json or a bare manifest array; undefined when neither. */
function manifestOf(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) {
    return json.length > 0 && json.every((g) => isObject(g) && Array.isArray(g.paths) && Array.isArray(g.weights)) ? json : undefined;
  }
  if (isObject(json) && Array.isArray(json.weightsManifest)) return json.weightsManifest;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Stored bytes per element of an unquantized dtype; undefined for variable-size ones (string). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4, int32: 4, bool: 1, float16: 2, complex64: 8, uint8: 1, int8: 1, uint16: 2, int16: 2,
};
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

/** Reads the tensor index of a TF.js model.json or weights manifest. */
export async function readTfjs(source: ByteSource): Promise<TensorIndex> {
  const fail = (problem: string): never => {
    throw new FormatError(`${source.name}: invalid TF.js model: ${problem}`);
  };
  const fileSize = await source.size();
  if (fileSize > MAX_MODEL_JSON_BYTES) fail(`model.json is ${fileSize} bytes (limit ${MAX_MODEL_JSON_BYTES})`);
  let json: unknown;
  try {
    json = JSON.parse(strictUtf8.decode(await source.read(0, fileSize)));
  } catch (error) {
    if (error instanceof SourceError) throw error;
    fail(`not JSON (${(error as Error).message})`);
  }
  const manifest = manifestOf(json);
  if (manifest === undefined) fail('no "weightsManifest" (neither a model.json nor a weights manifest)');
  const groups = manifest!.map((group, index) => parseGroup(group, index, fail));
  if (groups.reduce((n, g) => n + g.paths.length, 0) > MAX_SHARDS) fail(`more than ${MAX_SHARDS} shards`);

  const topology = isObject(json) ? json.modelTopology : undefined;
  const metadata: Record<string, string> = {};
  let kind: "layers" | "graph" | "manifest" = "manifest";
  let layerClasses = new Map<string, KerasLayerClass>();
  let graphUsage = new Map<string, GraphUsage>();
  if (isObject(json)) {
    for (const key of ["format", "generatedBy", "convertedBy"]) {
      if (typeof json[key] === "string") metadata[key] = json[key] as string;
    }
  }
  if (isObject(topology)) {
    if (Array.isArray(topology.node)) {
      kind = "graph";
      graphUsage = graphWeightUsage(topology.node);
    } else {
      kind = "layers";
      const config = isObject(topology.model_config) ? topology.model_config : topology;
      layerClasses = kerasLayerClasses(config);
      if (typeof topology.keras_version === "string") metadata.keras_version = topology.keras_version;
    }
  }
  metadata.model_kind = kind;

  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const cache = new WholeTensorCache();
  for (const group of groups) {
    const shards = await openShards(source, group.paths);
    let offset = 0;
    for (const spec of group.weights) {
      const count = elementCount(spec.shape);
      const quantized = spec.quantization;
      const bytesPerElement = quantized !== undefined ? QUANTIZED_BYTES[quantized.dtype] : DTYPE_BYTES[spec.dtype];
      if (bytesPerElement === undefined) {
        // Without a size the following weights of the group cannot be located.
        const what = quantized !== undefined ? `quantization dtype "${quantized.dtype}"` : `dtype "${spec.dtype}"`;
        throw new UnsupportedError(`${source.name}: TF.js weight "${spec.name}" has ${what}, whose stored size is unknown; the weights after it cannot be located`);
      }
      const byteLength = count * bytesPerElement;
      const start = offset;
      offset += byteLength;
      if (offset > shards.totalSize) {
        fail(`weight "${spec.name}" needs bytes ${start}..${offset} of its group, the shards ${JSON.stringify(group.paths)} hold ${shards.totalSize}`);
      }
      const decode = elementDecoder(spec, source.name);
      if (decode === undefined) {
        skipped.push({ name: spec.name, reason: `dtype ${spec.dtype} is not a floating-point type` });
        continue;
      }
      const readStored: ElementReader = async (first, n) => {
        const bytes = await shards.read(start + first * bytesPerElement, n * bytesPerElement);
        return decode(bytes, n);
      };
      const { name, layout, embedding } = present(spec, kind, layerClasses, graphUsage);
      tensors.push(
        presentedTensor({
          sourceName: source.name,
          name,
          dtype: quantized !== undefined ? `${quantized.dtype}->${spec.dtype}` : spec.dtype,
          layout,
          ...(embedding ? { role: "embedding" as const } : {}),
          readStored,
          cache,
        }),
      );
    }
  }
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (names.has(tensor.name)) fail(`two weights are presented as "${tensor.name}"`);
    names.add(tensor.name);
  }
  return { format: "tfjs", tensors, metadata, skipped };
}

function parseGroup(group: unknown, index: number, fail: (problem: string) => never): WeightGroup {
  if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    fail(`weightsManifest[${index}] has no "paths" and "weights" arrays`);
  }
  const { paths, weights } = group as { paths: unknown[]; weights: unknown[] };
  for (const p of paths) if (typeof p !== "string" || p === "") fail(`weightsManifest[${index}] has a path that is not a string`);
  return { paths: paths as string[], weights: weights.map((w, i) => parseWeight(w, `weightsManifest[${index}].weights[${i}]`, fail)) };
}

function parseWeight(value: unknown, where: string, fail: (problem: string) => never): WeightSpec {
  if (!isObject(value)) fail(`${where} is not an object`);
  const { name, shape, dtype, quantization } = value as Record<string, unknown>;
  if (typeof name !== "string") fail(`${where} has no string "name"`);
  if (!Array.isArray(shape) || shape.length > 16 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`${where} ("${String(name)}") has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Number.isSafeInteger(elementCount(shape as number[]))) fail(`${where} ("${String(name)}") has a shape whose size overflows`);
  if (typeof dtype !== "string") fail(`${where} ("${String(name)}") has no string "dtype"`);
  if (quantization === undefined || quantization === null) {
    return { name: name as string, shape: shape as number[], dtype: dtype as string };
  }
  if (!isObject(quantization) || typeof quantization.dtype !== "string") fail(`${where} ("${String(name)}") has an invalid "quantization"`);
  const q = quantization as Record<string, unknown>;
  if (q.dtype === "uint8" || q.dtype === "uint16") {
    if (typeof q.scale !== "number" || typeof q.min !== "number" || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
      fail(`${where} ("${String(name)}") is ${String(q.dtype)}-quantized without numeric "scale" and "min"`);
    }
    return { name: name as string, shape: shape as number[], dtype: dtype as string, quantization: { dtype: q.dtype, scale: q.scale as number, min: q.min as number } };
  }
  return { name: name as string, shape: shape as number[], dtype: dtype as string, quantization: { dtype: q.dtype as string } };
}

/** Decoder of a weight's stored bytes into float64, or undefined when it is not a float tensor. */
function elementDecoder(spec: WeightSpec, sourceName: string): ((bytes: Uint8Array, count: number) => Float64Array) | undefined {
  const q = spec.quantization;
  const isFloat = spec.dtype === "float32" || spec.dtype === "float16";
  if (!isFloat) return undefined;
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (q === undefined) {
    return spec.dtype === "float32"
      ? (bytes, n) => Float64Array.from({ length: n }, (_, i) => view(bytes).getFloat32(i * 4, true))
      : (bytes, n) => Float64Array.from({ length: n }, (_, i) => halfToFloat(view(bytes).getUint16(i * 2, true)));
  }
  if (q.dtype === "float16") {
    return (bytes, n) => {
      const v = view(bytes);
      return Float64Array.from({ length: n }, (_, i) => halfToFloat(v.getUint16(i * 2, true)));
    };
  }
  const scale = q.scale!;
  const min = q.min!;
  // TF.js computes q * scale + min in double precision and stores it in a Float32Array.
  if (q.dtype === "uint8") return (bytes, n) => Float64Array.from({ length: n }, (_, i) => Math.fround(bytes[i]! * scale + min));
  if (q.dtype === "uint16") {
    return (bytes, n) => {
      const v = view(bytes);
      return Float64Array.from({ length: n }, (_, i) => Math.fround(v.getUint16(i * 2, true) * scale + min));
    };
  }
  throw new UnsupportedError(`${sourceName}: TF.js weight "${spec.name}" has unknown quantization dtype "${q.dtype}"`);
}

interface Shards {
  readonly totalSize: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The shards of one group as one concatenated byte range. */
async function openShards(source: ByteSource, paths: readonly string[]): Promise<Shards> {
  const parts: { source: ByteSource; start: number; size: number }[] = [];
  let total = 0;
  for (const shardPath of paths) {
    if (/^([\\/]|[A-Za-z]:)/.test(shardPath) || shardPath.split(/[\\/]/).includes("..") || /^[a-z]+:\/\//i.test(shardPath)) {
      throw new UnsupportedError(`${source.name}: weight shard path "${shardPath}" is not inside the model's folder (no absolute paths, URLs or "..")`);
    }
    const shard = source.sibling === undefined ? undefined : await source.sibling(shardPath);
    if (shard === undefined) throw new SourceError(`${source.name}: weight shard "${shardPath}" cannot be opened from here`);
    const size = await shard.size();
    parts.push({ source: shard, start: total, size });
    total += size;
  }
  return {
    totalSize: total,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let written = 0;
      for (const part of parts) {
        if (written === length) break;
        const from = offset + written;
        if (from >= part.start + part.size || from < part.start) continue;
        const take = Math.min(length - written, part.start + part.size - from);
        out.set(await part.source.read(from - part.start, take), written);
        written += take;
      }
      if (written !== length) throw new FormatError(`${source.name}: weight bytes ${offset}..${offset + length} are past the end of the shards`);
      return out;
    },
  };
}

/** How a graph model's nodes consume a weight. */
interface GraphUsage {
  kernel?: "matmul" | "matmul-transposed" | "conv" | "depthwise";
  embedding?: boolean;
}

/** Ops whose input 1 is a filter / matrix, and how it is laid out. */
const FILTER_OPS: Readonly<Record<string, "conv" | "depthwise" | "matmul">> = {
  Conv2D: "conv", _FusedConv2D: "conv", Conv3D: "conv", Conv1D: "conv", Conv2DBackpropInput: "conv",
  DepthwiseConv2dNative: "depthwise", FusedDepthwiseConv2dNative: "depthwise",
  MatMul: "matmul", _FusedMatMul: "matmul", BatchMatMul: "matmul", BatchMatMulV2: "matmul",
};
const PASS_THROUGH_OPS = new Set(["Identity", "Cast", "ReadVariableOp"]);

/** Weight name → usage, from GraphDef nodes (inputs are `name`, `name:k` or `^name`). */
function graphWeightUsage(nodes: unknown[]): Map<string, GraphUsage> {
  const byInput = new Map<string, { node: Record<string, unknown>; index: number }[]>();
  for (const node of nodes) {
    if (!isObject(node) || !Array.isArray(node.input)) continue;
    node.input.forEach((input, index) => {
      if (typeof input !== "string" || input.startsWith("^")) return;
      const name = input.replace(/:\d+$/, "");
      let list = byInput.get(name);
      if (list === undefined) byInput.set(name, (list = []));
      list.push({ node, index });
    });
  }
  const usage = new Map<string, GraphUsage>();
  const resolve = (name: string, depth: number): GraphUsage => {
    const found: GraphUsage = {};
    if (depth > 8) return found;
    for (const { node, index } of byInput.get(name) ?? []) {
      const op = String(node.op);
      const filter = FILTER_OPS[op];
      if (filter !== undefined && index === 1) {
        if (filter === "matmul") {
          const attr = isObject(node.attr) ? node.attr : {};
          const transposeB = isObject(attr.transpose_b) ? attr.transpose_b.b === true : isObject(attr.adj_y) && attr.adj_y.b === true;
          found.kernel = transposeB ? "matmul-transposed" : "matmul";
        } else {
          found.kernel = filter;
        }
      } else if ((op === "GatherV2" || op === "ResourceGather" || op === "Gather") && index === 0) {
        found.embedding = true;
      } else if (PASS_THROUGH_OPS.has(op) && index === 0 && typeof node.name === "string") {
        const next = resolve(node.name, depth + 1);
        if (found.kernel === undefined && next.kernel !== undefined) found.kernel = next.kernel;
        found.embedding ||= next.embedding === true;
      }
    }
    return found;
  };
  for (const node of nodes) {
    if (isObject(node) && node.op === "Const" && typeof node.name === "string") usage.set(node.name, resolve(node.name, 0));
  }
  return usage;
}

/** Presented name, layout and role of one weight. */
function present(
  spec: WeightSpec,
  kind: "layers" | "graph" | "manifest",
  layerClasses: ReadonlyMap<string, KerasLayerClass>,
  graphUsage: ReadonlyMap<string, GraphUsage>,
): { name: string; layout: TensorLayout; embedding: boolean } {
  if (kind === "graph") {
    const usage = graphUsage.get(spec.name) ?? {};
    let layout = identityLayout(spec.shape);
    if (usage.kernel === "matmul") layout = tfKernelLayout(spec.shape);
    else if (usage.kernel === "conv") layout = tfKernelLayout(spec.shape);
    else if (usage.kernel === "depthwise") layout = tfDepthwiseLayout(spec.shape);
    const isWeight = usage.kernel !== undefined || usage.embedding === true;
    // Graph weights are named by their TF node; the consumed kernels and tables get `.weight`.
    return { name: isWeight ? `${spec.name}.weight` : spec.name, layout, embedding: usage.embedding === true && spec.shape.length === 2 };
  }
  const slash = spec.name.lastIndexOf("/");
  const layerPath = slash < 0 ? "" : spec.name.slice(0, slash);
  const weight = spec.name.slice(slash + 1).replace(/:\d+$/, "");
  const layerName = layerPath.slice(layerPath.lastIndexOf("/") + 1);
  const layerClass = kind === "layers" ? layerClasses.get(layerName) : undefined;
  const layout = kerasWeightLayout(weight, spec.shape, layerClass);
  return {
    name: kerasWeightName(layerPath, weight, layerClass),
    layout,
    embedding: layerClass?.className === "Embedding" && weight === "embeddings",
  };
}
