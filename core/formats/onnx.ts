/**
 * ONNX reader: a protobuf walk over ModelProto (onnx/onnx.proto) that records where each tensor's
 * bytes are; values are read by range later.
 *
 * Fields used (checked against the official onnx.proto):
 *   ModelProto          ir_version = 1 (varint), producer_name = 2, producer_version = 3, domain = 4,
 *                       model_version = 5, doc_string = 6, graph = 7, opset_import = 8,
 *                       metadata_props = 14 (StringStringEntryProto key = 1, value = 2)
 *   GraphProto          node = 1, name = 2, initializer = 5, sparse_initializer = 15
 *   NodeProto           input = 1, output = 2, name = 3, op_type = 4, attribute = 5
 *   AttributeProto      name = 1, i = 3, t = 5 (tensor), g = 6 (graph), ints = 8, graphs = 11, type = 20
 *   TensorProto         dims = 1, data_type = 2, segment = 3, float_data = 4 (packed fixed32),
 *                       int32_data = 5 (packed varints; FLOAT16/BFLOAT16 bit patterns), name = 8,
 *                       raw_data = 9, double_data = 10 (packed fixed64), external_data = 13
 *                       (location / offset / length), data_location = 14 (1 = EXTERNAL)
 * Tensors come from the initializers of the main graph and of every sub-graph (node attributes of
 * type GRAPH / GRAPHS: If branches, Loop and Scan bodies) and from `Constant` nodes' `value`.
 * Orientation comes from the consuming nodes: see `orientationOf`.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, SourceError, UnsupportedError } from "../errors.js";
import { BF16, F16, F32, F64, bfloat16ToFloat, halfToFloat, type ElementType } from "./dtype.js";
import { elementCount, type SkippedTensor, type TensorIndex, type TensorInfo } from "./tensor.js";
import {
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  WireError,
  decodeVarint,
  ProtoReader,
  type ProtoField,
} from "./protobuf.js";
import {
  WholeTensorCache,
  identityLayout,
  presentedTensor,
  transposedLayout,
  type ElementReader,
} from "./layout.js";
import { lenientUtf8 } from "./text.js";

/** Sub-graphs nest (If inside Loop inside If ...); deeper nesting than this is refused. */
export const MAX_GRAPH_DEPTH = 32;
/** More dimensions than this is not a tensor anyone exports. */
const MAX_RANK = 16;
/** int32_data holding half floats is decoded whole; refuse payloads above this many bytes. */
const MAX_VARINT_DATA_BYTES = 256 * 1024 * 1024;

const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
  8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
  15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
  20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
};

/** Data types read for analysis, with the dtype label reported for them. */
const FLOAT_TYPES: Readonly<Record<number, { label: string; type: ElementType }>> = {
  1: { label: "FLOAT", type: F32 },
  10: { label: "FLOAT16", type: F16 },
  11: { label: "DOUBLE", type: F64 },
  16: { label: "BFLOAT16", type: BF16 },
};

/** ModelProto fields and the wire type each must have; used to recognise a model by content. */
const MODEL_FIELD_WIRE: Readonly<Record<number, number>> = {
  1: WIRE_VARINT, 2: WIRE_LENGTH_DELIMITED, 3: WIRE_LENGTH_DELIMITED, 4: WIRE_LENGTH_DELIMITED,
  5: WIRE_VARINT, 6: WIRE_LENGTH_DELIMITED, 7: WIRE_LENGTH_DELIMITED, 8: WIRE_LENGTH_DELIMITED,
  14: WIRE_LENGTH_DELIMITED, 20: WIRE_LENGTH_DELIMITED, 25: WIRE_LENGTH_DELIMITED,
};
/** IR versions run from 1 (2017) upwards by one per release; 100 leaves room for the future. */
const MAX_IR_VERSION = 100;

/**
 * True when `head` starts like a serialized ModelProto: every field up to the end of the head has
 * a ModelProto field number with its wire type, lengths fit in the file, and an `ir_version` in
 * range or a `graph` field is among them. An HTML page or JSON text fails at its first byte.
 */
export function looksLikeOnnx(head: Uint8Array, fileSize: number): boolean {
  let pos = 0;
  let sawIrVersion = false;
  let sawGraph = false;
  let fields = 0;
  // The head may end inside a field's prefix; that is only acceptable when the file goes on.
  const headIsWholeFile = head.byteLength >= fileSize;
  while (pos < head.byteLength) {
    try {
      const tag = decodeVarint(head, pos, head.byteLength);
      const number = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      if (MODEL_FIELD_WIRE[number] !== wireType) return false;
      const payload = decodeVarint(head, tag.next, head.byteLength);
      if (wireType === WIRE_VARINT) {
        if (number === 1) {
          if (payload.value < 1 || payload.value > MAX_IR_VERSION) return false;
          sawIrVersion = true;
        }
        pos = payload.next;
      } else {
        if (payload.next + payload.value > fileSize) return false;
        if (number === 7) sawGraph = true;
        pos = payload.next + payload.value;
      }
      fields++;
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      if (headIsWholeFile || fields === 0 || pos + 2 * MAX_VARINT_PREFIX <= head.byteLength) return false;
      break;
    }
  }
  return sawIrVersion || sawGraph;
}
/** A tag or a length prefix takes at most 10 bytes. */
const MAX_VARINT_PREFIX = 10;

interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** What the walk learns about one TensorProto, before any of its values are read. */
interface TensorHeader {
  name: string;
  dims: number[];
  dataType: number;
  raw?: ByteRange;
  floatData?: ByteRange;
  doubleData?: ByteRange;
  int32Data?: ByteRange;
  external: Map<string, string>;
  dataLocation: number;
  hasSegment: boolean;
  unpacked: boolean;
  /** Where the tensor sits, for messages: `initializer`, `Constant node ...`, with graph path. */
  where: string;
}

interface NodeInfo {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly ints: ReadonlyMap<string, number>;
  readonly intLists: ReadonlyMap<string, readonly number[]>;
}

interface WalkResult {
  readonly tensors: TensorHeader[];
  readonly nodes: NodeInfo[];
  readonly skipped: SkippedTensor[];
  readonly metadata: Record<string, string>;
}

/** Reads the tensor index of an ONNX model. */
export async function readOnnx(source: ByteSource): Promise<TensorIndex> {
  const fileSize = await source.size();
  const reader: ProtoReader = new ProtoReader(source, fileSize, `${source.name}: invalid ONNX file`);
  if (fileSize === 0) reader.fail("file is empty");
  const head = await source.read(0, Math.min(fileSize, 4096));
  // The walk below explains other damage precisely; a web page saved in place of the model is
  // common enough to deserve its own message.
  const text = lenientUtf8.decode(head.subarray(0, 64));
  if (!looksLikeOnnx(head, fileSize) && /^\s*<(!doctype|html)/i.test(text)) {
    reader.fail("it is an HTML page, not a model (a web page was saved instead of the file; download the raw file)");
  }
  const walk: WalkResult = { tensors: [], nodes: [], skipped: [], metadata: {} };
  let graph: ProtoField | undefined;
  let irVersion: number | undefined;
  for await (const field of reader.fields(0, fileSize)) {
    const expected = MODEL_FIELD_WIRE[field.number];
    if (expected !== undefined && expected !== field.wireType) {
      reader.fail(`ModelProto field ${field.number} has wire type ${field.wireType}, expected ${expected}`, field.offset);
    }
    switch (field.number) {
      case 1:
        irVersion = field.value;
        break;
      case 2:
        walk.metadata.producer_name = await reader.string(field, "producer_name");
        break;
      case 3:
        walk.metadata.producer_version = await reader.string(field, "producer_version");
        break;
      case 7:
        if (graph !== undefined) reader.fail("ModelProto has two graph fields", field.offset);
        graph = field;
        break;
      case 14: {
        const entry = await readStringEntry(reader, field);
        if (entry !== undefined) walk.metadata[entry.key] = entry.value;
        break;
      }
      default:
        break;
    }
  }
  if (irVersion === undefined) reader.fail("no ir_version field (field 1): not an ONNX ModelProto");
  if (irVersion < 1 || irVersion > MAX_IR_VERSION) reader.fail(`ir_version ${irVersion} is not a known IR version`);
  if (graph === undefined) reader.fail("ModelProto has no graph (field 7)");
  walk.metadata.ir_version = String(irVersion);
  await walkGraph(reader, graph, 0, "graph", walk);

  const consumers = consumerMap(walk.nodes);
  const cache = new WholeTensorCache();
  const externalSources = new Map<string, Promise<{ source: ByteSource; size: number }>>();
  const tensors: TensorInfo[] = [];
  const skipped = walk.skipped;
  const seen = new Map<string, number>();
  for (const header of walk.tensors) {
    // Names are unique within a graph, not across sub-graphs; later duplicates get a suffix.
    const times = (seen.get(header.name) ?? 0) + 1;
    seen.set(header.name, times);
    const name = times === 1 ? header.name : `${header.name}#${times}`;
    const float = FLOAT_TYPES[header.dataType];
    if (float === undefined) {
      const typeName = DATA_TYPE_NAMES[header.dataType] ?? `unknown (${header.dataType})`;
      skipped.push({ name, reason: `data type ${typeName} is not a floating-point type` });
      continue;
    }
    if (header.hasSegment) {
      skipped.push({ name, reason: "tensor is stored in segments (TensorProto.segment), which is not supported" });
      continue;
    }
    if (header.unpacked) {
      skipped.push({ name, reason: "tensor values are stored as unpacked repeated fields, which is not supported" });
      continue;
    }
    const readStored = await storedReader(source, reader, header, float.type, externalSources);
    const usage = header.dims.length === 2 ? orientationOf(header.name, consumers) : { transpose: false, embedding: false };
    const layout = usage.transpose ? transposedLayout(header.dims) : identityLayout(header.dims);
    tensors.push(
      presentedTensor({
        sourceName: source.name,
        name,
        dtype: float.label,
        layout,
        ...(usage.embedding ? { role: "embedding" as const } : {}),
        readStored,
        cache,
      }),
    );
  }
  return { format: "onnx", tensors, metadata: walk.metadata, skipped };
}

async function readStringEntry(reader: ProtoReader, field: ProtoField): Promise<{ key: string; value: string } | undefined> {
  if (field.wireType !== WIRE_LENGTH_DELIMITED) reader.fail("StringStringEntryProto is not a message", field.offset);
  let key: string | undefined;
  let value = "";
  for await (const f of reader.fields(field.offset, field.offset + field.length)) {
    if (f.number === 1) key = await reader.string(f, "entry key");
    else if (f.number === 2) value = await reader.string(f, "entry value");
  }
  return key === undefined ? undefined : { key, value };
}

function expectMessage(reader: ProtoReader, field: ProtoField, what: string): void {
  if (field.wireType !== WIRE_LENGTH_DELIMITED) {
    reader.fail(`${what} has wire type ${field.wireType}, expected a message`, field.offset);
  }
}

async function walkGraph(reader: ProtoReader, graph: ProtoField, depth: number, path: string, walk: WalkResult): Promise<void> {
  expectMessage(reader, graph, path);
  if (depth >= MAX_GRAPH_DEPTH) reader.fail(`graphs nested more than ${MAX_GRAPH_DEPTH} levels deep (at ${path})`, graph.offset);
  let graphName = "";
  const subgraphs: { field: ProtoField; path: string }[] = [];
  for await (const field of reader.fields(graph.offset, graph.offset + graph.length)) {
    switch (field.number) {
      case 1: {
        expectMessage(reader, field, `node of ${path}`);
        const node = await walkNode(reader, field, path, walk);
        subgraphs.push(...node);
        break;
      }
      case 2:
        graphName = await reader.string(field, "graph name");
        break;
      case 5:
        expectMessage(reader, field, `initializer of ${path}`);
        walk.tensors.push(await readTensorHeader(reader, field, `initializer of ${graphName ? `${path} "${graphName}"` : path}`));
        break;
      case 15: {
        expectMessage(reader, field, `sparse initializer of ${path}`);
        let name = "<unnamed sparse initializer>";
        for await (const f of reader.fields(field.offset, field.offset + field.length)) {
          if (f.number === 1 && f.wireType === WIRE_LENGTH_DELIMITED) {
            name = (await readTensorHeader(reader, f, "sparse initializer values")).name || name;
          }
        }
        walk.skipped.push({ name, reason: "sparse initializers are not supported" });
        break;
      }
      default:
        break;
    }
  }
  for (const sub of subgraphs) await walkGraph(reader, sub.field, depth + 1, sub.path, walk);
}

/** Records a node; returns the sub-graphs among its attributes (walked after the node). */
async function walkNode(
  reader: ProtoReader,
  nodeField: ProtoField,
  path: string,
  walk: WalkResult,
): Promise<{ field: ProtoField; path: string }[]> {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opType = "";
  let nodeName = "";
  const ints = new Map<string, number>();
  const intLists = new Map<string, number[]>();
  const tensorAttributes: { name: string; field: ProtoField }[] = [];
  const graphAttributes: { name: string; field: ProtoField }[] = [];
  for await (const field of reader.fields(nodeField.offset, nodeField.offset + nodeField.length)) {
    switch (field.number) {
      case 1:
        inputs.push(await reader.string(field, "node input"));
        break;
      case 2:
        outputs.push(await reader.string(field, "node output"));
        break;
      case 3:
        nodeName = await reader.string(field, "node name");
        break;
      case 4:
        opType = await reader.string(field, "op_type");
        break;
      case 5: {
        expectMessage(reader, field, "node attribute");
        let attributeName = "";
        const list: number[] = [];
        let intValue: number | undefined;
        const tensors: ProtoField[] = [];
        const graphs: ProtoField[] = [];
        for await (const f of reader.fields(field.offset, field.offset + field.length)) {
          if (f.number === 1) attributeName = await reader.string(f, "attribute name");
          else if (f.number === 3 && f.wireType === WIRE_VARINT) intValue = f.value;
          else if (f.number === 8) await reader.varints(f, list, "attribute ints", MAX_RANK * 4);
          else if (f.number === 5) tensors.push(f);
          else if (f.number === 6 || f.number === 11) graphs.push(f);
        }
        if (intValue !== undefined) ints.set(attributeName, intValue);
        if (list.length > 0) intLists.set(attributeName, list);
        for (const t of tensors) tensorAttributes.push({ name: attributeName, field: t });
        for (const g of graphs) graphAttributes.push({ name: attributeName, field: g });
        break;
      }
      default:
        break;
    }
  }
  walk.nodes.push({ opType, inputs, outputs, ints, intLists });
  const label = nodeName ? `${opType} node "${nodeName}"` : `${opType} node`;
  if (opType === "Constant") {
    for (const attribute of tensorAttributes) {
      if (attribute.name !== "value") continue;
      expectMessage(reader, attribute.field, `${label} value`);
      const header = await readTensorHeader(reader, attribute.field, `value of ${label} in ${path}`);
      // The graph refers to a Constant's tensor by the node's output name.
      header.name = outputs[0] ?? (header.name || nodeName);
      walk.tensors.push(header);
    }
  }
  return graphAttributes.map((attribute) => ({
    field: attribute.field,
    path: `${path} > ${label} attribute ${attribute.name}`,
  }));
}

async function readTensorHeader(reader: ProtoReader, tensorField: ProtoField, where: string): Promise<TensorHeader> {
  const header: TensorHeader = {
    name: "",
    dims: [],
    dataType: 0,
    external: new Map(),
    dataLocation: 0,
    hasSegment: false,
    unpacked: false,
    where,
  };
  for await (const field of reader.fields(tensorField.offset, tensorField.offset + tensorField.length)) {
    const range = { offset: field.offset, length: field.length };
    switch (field.number) {
      case 1:
        await reader.varints(field, header.dims, `dims of ${where}`, MAX_RANK);
        break;
      case 2:
        if (field.wireType !== WIRE_VARINT) reader.fail(`data_type of ${where} is not a varint`, field.offset);
        header.dataType = field.value;
        break;
      case 3:
        header.hasSegment = true;
        break;
      case 4:
        if (field.wireType === WIRE_LENGTH_DELIMITED) header.floatData = range;
        else header.unpacked = true;
        break;
      case 5:
        if (field.wireType === WIRE_LENGTH_DELIMITED) header.int32Data = range;
        else header.unpacked = true;
        break;
      case 8:
        header.name = await reader.string(field, `name of ${where}`);
        break;
      case 9:
        if (field.wireType !== WIRE_LENGTH_DELIMITED) reader.fail(`raw_data of ${where} is not length-delimited`, field.offset);
        header.raw = range;
        break;
      case 10:
        if (field.wireType === WIRE_LENGTH_DELIMITED) header.doubleData = range;
        else header.unpacked = true;
        break;
      case 13: {
        const entry = await readStringEntry(reader, field);
        if (entry !== undefined) header.external.set(entry.key, entry.value);
        break;
      }
      case 14:
        if (field.wireType !== WIRE_VARINT) reader.fail(`data_location of ${where} is not a varint`, field.offset);
        header.dataLocation = field.value;
        break;
      default:
        break;
    }
  }
  for (const dim of header.dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) reader.fail(`tensor "${header.name}" (${where}) has an invalid dimension ${dim}`);
  }
  if (!Number.isSafeInteger(elementCount(header.dims))) reader.fail(`tensor "${header.name}" (${where}) has a shape whose size overflows`);
  return header;
}

/** Where the stored elements of a tensor come from, as a range reader; checks sizes first. */
async function storedReader(
  source: ByteSource,
  reader: ProtoReader,
  header: TensorHeader,
  type: ElementType,
  externalSources: Map<string, Promise<{ source: ByteSource; size: number }>>,
): Promise<ElementReader> {
  const count = elementCount(header.dims);
  const label = `tensor "${header.name}" (${header.where})`;
  const fail = (problem: string): never => {
    throw new FormatError(`${source.name}: invalid ONNX file: ${label} ${problem}`);
  };
  if (header.dataLocation === 1) {
    const location = header.external.get("location");
    if (location === undefined || location === "") fail("has data_location EXTERNAL but no external_data location");
    checkRelativePath(source, location!, label);
    const offset = parseExternalInteger(header.external.get("offset"), 0, source, label, "offset");
    const length = parseExternalInteger(header.external.get("length"), count * type.size, source, label, "length");
    if (length !== count * type.size) fail(`needs ${count * type.size} bytes, external_data length is ${length}`);
    let pending = externalSources.get(location!);
    if (pending === undefined) {
      pending = openSibling(source, location!);
      externalSources.set(location!, pending);
    }
    const external = await pending;
    if (offset + length > external.size) {
      fail(`external data ${offset}..${offset + length} runs past the end of "${location}" (${external.size} bytes)`);
    }
    return contiguousReader(external.source, offset, type);
  }
  if (header.dataLocation !== 0) fail(`has an unknown data_location ${header.dataLocation}`);
  if (header.raw !== undefined) {
    if (header.raw.length !== count * type.size) {
      fail(`${JSON.stringify(header.dims)} needs ${count * type.size} bytes of raw_data, has ${header.raw.length}`);
    }
    return contiguousReader(source, header.raw.offset, type);
  }
  if (header.dataType === 1 && header.floatData !== undefined) {
    if (header.floatData.length !== count * 4) fail(`${JSON.stringify(header.dims)} needs ${count} float_data values, has ${header.floatData.length / 4}`);
    return contiguousReader(source, header.floatData.offset, F32);
  }
  if (header.dataType === 11 && header.doubleData !== undefined) {
    if (header.doubleData.length !== count * 8) fail(`${JSON.stringify(header.dims)} needs ${count} double_data values, has ${header.doubleData.length / 8}`);
    return contiguousReader(source, header.doubleData.offset, F64);
  }
  if ((header.dataType === 10 || header.dataType === 16) && header.int32Data !== undefined) {
    return halfFloatVarintReader(reader, header.int32Data, count, header.dataType === 10 ? halfToFloat : bfloat16ToFloat, fail);
  }
  if (count === 0) return async () => new Float64Array(0);
  return fail("has no data (no raw_data, typed data or external_data)");
}

function contiguousReader(source: ByteSource, byteOffset: number, type: ElementType): ElementReader {
  return async (start, count) => {
    const bytes = await source.read(byteOffset + start * type.size, count * type.size);
    const out = new Float64Array(count);
    type.decode(bytes, count, out, 0);
    return out;
  };
}

/** FLOAT16 / BFLOAT16 values kept as varints in int32_data: decoded whole on first read. */
function halfFloatVarintReader(
  reader: ProtoReader,
  range: ByteRange,
  count: number,
  toFloat: (bits: number) => number,
  fail: (problem: string) => never,
): ElementReader {
  // Each varint takes one to three bytes for a 16-bit pattern: check before decoding anything.
  if (range.length < count || range.length > 3 * count) fail(`int32_data of ${range.length} bytes cannot hold ${count} 16-bit values`);
  if (range.length > MAX_VARINT_DATA_BYTES) fail(`int32_data of ${range.length} bytes exceeds the ${MAX_VARINT_DATA_BYTES}-byte limit`);
  let decoded: Promise<Float64Array> | undefined;
  const decodeAll = async (): Promise<Float64Array> => {
    const values: number[] = [];
    await reader.varints({ number: 5, wireType: WIRE_LENGTH_DELIMITED, value: 0, ...range }, values, "int32_data", count);
    if (values.length !== count) fail(`has ${values.length} int32_data values, its shape needs ${count}`);
    return Float64Array.from(values, (bits) => toFloat(bits & 0xffff));
  };
  return async (start, n) => {
    decoded ??= decodeAll();
    const all = await decoded;
    return all.slice(start, start + n);
  };
}

function parseExternalInteger(
  text: string | undefined,
  fallback: number,
  source: ByteSource,
  label: string,
  key: string,
): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new FormatError(`${source.name}: invalid ONNX file: ${label} has external_data ${key} "${text}", not a byte count`);
  }
  return value;
}

/** External data paths are relative to the model and must stay beside it. */
function checkRelativePath(source: ByteSource, location: string, label: string): void {
  const parts = location.split(/[\\/]/);
  if (/^([\\/]|[A-Za-z]:)/.test(location) || parts.includes("..")) {
    throw new UnsupportedError(
      `${source.name}: ${label} has external data at "${location}"; only paths inside the model's folder are read (no absolute paths, no "..")`,
    );
  }
}

async function openSibling(source: ByteSource, location: string): Promise<{ source: ByteSource; size: number }> {
  const sibling = source.sibling === undefined ? undefined : await source.sibling(location);
  if (sibling === undefined) {
    throw new SourceError(`${source.name}: the model keeps tensor data in the external file "${location}", which cannot be opened from here`);
  }
  return { source: sibling, size: await sibling.size() };
}

interface Consumer {
  readonly node: NodeInfo;
  readonly inputIndex: number;
}

function consumerMap(nodes: readonly NodeInfo[]): Map<string, Consumer[]> {
  const map = new Map<string, Consumer[]>();
  for (const node of nodes) {
    node.inputs.forEach((input, inputIndex) => {
      if (input === "") return;
      let list = map.get(input);
      if (list === undefined) map.set(input, (list = []));
      list.push({ node, inputIndex });
    });
  }
  return map;
}

/** Ops that pass a tensor through unchanged in layout (a weight may be cast before use). */
const PASS_THROUGH = new Set(["Identity", "Cast", "CastLike", "DequantizeLinear"]);
/** How far to follow pass-through and Transpose nodes from a tensor to its real consumer. */
const MAX_FOLLOW = 8;

/**
 * Orientation of a 2-D tensor from the nodes consuming it, following Identity/Cast/Transpose:
 * input B of Gemm with transB = 0, or the second input of MatMul, holds `[in, out]` (transposed
 * to present `[out, in]`); Gemm with transB = 1 already holds `[out, in]`; input 0 of Gather is an
 * embedding table `[vocab, dim]`. When consumers disagree, the stored orientation is kept.
 */
function orientationOf(name: string, consumers: ReadonlyMap<string, Consumer[]>): { transpose: boolean; embedding: boolean } {
  const votes = new Set<boolean>();
  let embedding = false;
  const visit = (value: string, flipped: boolean, depth: number): void => {
    if (depth > MAX_FOLLOW) return;
    for (const { node, inputIndex } of consumers.get(value) ?? []) {
      const op = node.opType;
      if (op === "Gemm" && inputIndex === 1) {
        votes.add(((node.ints.get("transB") ?? 0) === 0) !== flipped);
      } else if (op === "MatMul" && inputIndex === 1) {
        votes.add(!flipped);
      } else if (op === "Gather" && inputIndex === 0) {
        embedding = true;
      } else if (PASS_THROUGH.has(op) && inputIndex === 0 && node.outputs[0] !== undefined) {
        visit(node.outputs[0], flipped, depth + 1);
      } else if (op === "Transpose" && inputIndex === 0 && node.outputs[0] !== undefined) {
        const perm = node.intLists.get("perm");
        if (perm === undefined || (perm.length === 2 && perm[0] === 1 && perm[1] === 0)) {
          visit(node.outputs[0], !flipped, depth + 1);
        }
      }
    }
  };
  visit(name, false, 0);
  const transpose = votes.size === 1 && votes.has(true) && !embedding;
  return { transpose, embedding };
}
