/**
 * Keras HDF5 reader (`model.save("x.h5")` and `save_weights` files of Keras 2), through jsfive.
 *
 * jsfive (pure JavaScript) rather than h5wasm: h5wasm compiles its embedded WebAssembly at run
 * time, which a Cloudflare Worker refuses. jsfive parses a whole in-memory buffer, so the file is
 * read whole, up to MAX_KERAS_FILE_BYTES.
 *
 * Layout: root attributes `model_config` (JSON), `keras_version`, `backend`; group
 * `model_weights` (or the root, for weights-only files) with attribute `layer_names`; each layer
 * group has attribute `weight_names` listing dataset paths relative to it
 * (`conv2d_1_1/kernel:0`; the inner group name may differ from the layer name). Fixed-length name
 * strings come NUL-padded. `optimizer_weights` is never read. Names and orientations follow
 * keras-naming.ts.
 */
import { File, type Dataset, type Group } from "jsfive";
import type { ByteSource } from "./byte-source.js";
import { AlphawatchError, BudgetError, FormatError } from "../errors.js";
import { elementCount, type SkippedTensor, type TensorIndex, type TensorInfo } from "./tensor.js";
import { WholeTensorCache, presentedTensor } from "./layout.js";
import { kerasLayerClasses, kerasWeightLayout, kerasWeightName, type KerasLayerClass } from "./keras-naming.js";

/** The whole file is read into memory (jsfive has no lazy reads); larger files are refused. */
export const MAX_KERAS_FILE_BYTES = 512 * 1024 * 1024;
/** A compressed dataset may expand; refuse to decode more elements than this per dataset. */
const MAX_DATASET_ELEMENTS = 2 ** 26;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Offset of the HDF5 superblock signature in `head` (0, 512, 1024, 2048, ...), or -1. */
function signatureOffset(head: Uint8Array): number {
  for (let offset = 0; offset + 8 <= head.byteLength; offset = offset === 0 ? 512 : offset * 2) {
    if (HDF5_SIGNATURE.every((byte, i) => head[offset + i] === byte)) return offset;
  }
  return -1;
}

/** True for any HDF5 file; `readKerasH5` rejects HDF5 files that hold no Keras model. */
export function looksLikeHdf5(head: Uint8Array): boolean {
  return signatureOffset(head) >= 0;
}

/** Runs a jsfive call, turning whatever it throws (often a bare string) into a FormatError. */
function hdf5<T>(sourceName: string, what: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof AlphawatchError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new FormatError(`${sourceName}: invalid HDF5 file: cannot read ${what} (${detail})`, { cause: error });
  }
}

/** Attribute text: jsfive gives strings (fixed-length ones NUL-padded) or byte arrays. */
function attributeText(value: unknown): string | undefined {
  if (typeof value === "string") return value.replace(/\0+$/, "");
  if (value instanceof Uint8Array) return new TextDecoder().decode(value).replace(/\0+$/, "");
  return undefined;
}

function attributeTexts(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value.replace(/\0+$/, "")];
  if (!Array.isArray(value)) return undefined;
  const texts: string[] = [];
  for (const entry of value) {
    const text = attributeText(entry);
    if (text === undefined) return undefined;
    texts.push(text);
  }
  return texts;
}

function isGroup(node: Group | Dataset): node is Group {
  return Array.isArray((node as Group).keys);
}

export async function readKerasH5(source: ByteSource): Promise<TensorIndex> {
  const name = source.name;
  const fail = (problem: string): never => {
    throw new FormatError(`${name}: ${problem}`);
  };
  const fileSize = await source.size();
  if (fileSize > MAX_KERAS_FILE_BYTES) {
    throw new BudgetError(`${name}: HDF5 file is ${fileSize} bytes; Keras HDF5 files are read whole, allowed up to ${MAX_KERAS_FILE_BYTES}`);
  }
  const bytes = await source.read(0, fileSize);
  const start = signatureOffset(bytes.subarray(0, 4096));
  if (start < 0) fail("invalid HDF5 file: no HDF5 signature at offset 0, 512, 1024 or 2048");
  // Addresses inside the file are relative to the superblock, so a user block is cut off.
  const buffer = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = hdf5(name, "the superblock and root group", () => new File(buffer, name));
  const rootAttrs = hdf5(name, "the root attributes", () => file.attrs);
  const rootKeys = hdf5(name, "the root group", () => file.keys);

  const metadata: Record<string, string> = {};
  for (const key of ["keras_version", "backend"]) {
    const text = attributeText(rootAttrs[key]);
    if (text !== undefined) metadata[key] = text;
  }
  let layerClasses = new Map<string, KerasLayerClass>();
  const configText = attributeText(rootAttrs.model_config);
  if (configText !== undefined) {
    try {
      layerClasses = kerasLayerClasses(JSON.parse(configText));
    } catch {
      fail("invalid Keras HDF5 file: root attribute model_config is not JSON");
    }
  }

  let weightsGroup: Group;
  if (rootKeys.includes("model_weights")) {
    const node = hdf5(name, "group model_weights", () => file.get("model_weights"));
    if (!isGroup(node)) fail("invalid Keras HDF5 file: model_weights is a dataset, not a group");
    weightsGroup = node as Group;
  } else if (rootAttrs.layer_names !== undefined) {
    weightsGroup = file;
  } else {
    return fail(
      `HDF5 file but not a Keras model: no "model_weights" group and no "layer_names" attribute (root holds ${rootKeys.length === 0 ? "nothing" : rootKeys.map((k) => `"${k}"`).join(", ")})`,
    );
  }
  const groupAttrs = hdf5(name, `attributes of ${weightsGroup.name}`, () => weightsGroup.attrs);
  const layerNames = attributeTexts(groupAttrs.layer_names);
  if (layerNames === undefined) fail(`invalid Keras HDF5 file: ${weightsGroup.name} has no "layer_names" attribute listing its layers`);
  metadata.keras_layers = String(layerNames!.length);

  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const cache = new WholeTensorCache();
  const valueCache = new WholeTensorCache();
  const seen = new Set<string>();
  for (const layer of layerNames!) {
    const layerGroup = hdf5(name, `layer group "${layer}"`, () => weightsGroup.get(layer));
    if (!isGroup(layerGroup)) fail(`invalid Keras HDF5 file: layer "${layer}" is not a group`);
    const group = layerGroup as Group;
    const rawNames = hdf5(name, `weight_names of layer "${layer}"`, () => group.attrs.weight_names);
    // Layers without weights store an empty float array rather than strings.
    const weightNames = Array.isArray(rawNames) && rawNames.length === 0 ? [] : attributeTexts(rawNames);
    if (weightNames === undefined) fail(`invalid Keras HDF5 file: layer "${layer}" has no readable "weight_names" attribute`);
    for (const weightPath of weightNames!) {
      const node = hdf5(name, `weight "${layer}/${weightPath}"`, () => group.get(weightPath));
      if (isGroup(node)) fail(`invalid Keras HDF5 file: weight "${layer}/${weightPath}" is a group, not a dataset`);
      const dataset = node as Dataset;
      const parts = weightPath.split("/");
      const weight = parts[parts.length - 1]!.replace(/:\d+$/, "");
      const inner = parts.slice(0, -1);
      // `conv2d_1_1/kernel:0` in layer `conv2d_1`: the first component repeats the layer name.
      if (inner.length > 0 && (inner[0] === layer || inner[0]!.startsWith(`${layer}_`))) inner.shift();
      const layerPath = [layer, ...inner].join("/");
      const layerClass = layerClasses.get(inner[inner.length - 1] ?? layer);
      let tensorName = kerasWeightName(layerPath, weight, layerClass);
      if (seen.has(tensorName)) tensorName = `${layer}/${weightPath}`;
      seen.add(tensorName);

      const shape = hdf5(name, `shape of "${layer}/${weightPath}"`, () => dataset.shape);
      const dtype = hdf5(name, `dtype of "${layer}/${weightPath}"`, () => dataset.dtype);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        fail(`invalid Keras HDF5 file: weight "${layer}/${weightPath}" has an invalid shape`);
      }
      const dims = shape as number[];
      const floatMatch = typeof dtype === "string" ? /^[<>=|]?f([248])$/.exec(dtype) : null;
      if (floatMatch === null) {
        skipped.push({ name: tensorName, reason: `dtype ${JSON.stringify(dtype)} is not a floating-point type` });
        continue;
      }
      const count = elementCount(dims);
      const itemSize = Number(floatMatch[1]);
      const compressed = hdf5(name, `filters of "${layer}/${weightPath}"`, () => dataset._dataobjects.filter_pipeline) != null;
      // Uncompressed data must fit in the file; a compressed dataset gets a fixed element budget.
      if (!compressed && count * itemSize > fileSize) {
        fail(`invalid Keras HDF5 file: weight "${layer}/${weightPath}" ${JSON.stringify(dims)} needs ${count * itemSize} bytes, more than the file holds`);
      }
      if (count > MAX_DATASET_ELEMENTS) {
        throw new BudgetError(`${name}: weight "${layer}/${weightPath}" has ${count} elements (limit ${MAX_DATASET_ELEMENTS})`);
      }
      const label = `${layer}/${weightPath}`;
      const key = {};
      const loadValues = async (): Promise<Float64Array> => {
        const values = hdf5(name, `values of "${label}"`, () => dataset.value);
        if (!Array.isArray(values) && !ArrayBuffer.isView(values)) fail(`invalid Keras HDF5 file: weight "${label}" values are not an array`);
        const array = values as ArrayLike<unknown>;
        if (array.length !== count) fail(`invalid Keras HDF5 file: weight "${label}" has ${array.length} values, its shape needs ${count}`);
        const out = new Float64Array(count);
        for (let i = 0; i < count; i++) {
          const v = array[i];
          if (typeof v !== "number") fail(`invalid Keras HDF5 file: weight "${label}" holds a non-numeric value`);
          out[i] = v as number;
        }
        return out;
      };
      tensors.push(
        presentedTensor({
          sourceName: name,
          name: tensorName,
          dtype: dtype as string,
          layout: kerasWeightLayout(weight, dims, layerClass),
          ...(layerClass?.className === "Embedding" && weight === "embeddings" ? { role: "embedding" as const } : {}),
          readStored: async (first, n) => (await valueCache.get(key, loadValues)).slice(first, first + n),
          cache,
        }),
      );
    }
  }
  return { format: "keras-h5", tensors, metadata, skipped };
}
