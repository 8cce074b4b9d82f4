/**
 * Directories as models, without touching a file system (the front ends list the directory and
 * open the files; these functions only decide).
 *
 * `pickModelEntry` names the file a directory's model starts from, by these rules in order:
 *   1. a shard index: `model.safetensors.index.json`, `pytorch_model.bin.index.json`, then any
 *      other `*.safetensors.index.json`, then any other `*.index.json`;
 *   2. a well-known single-file name: `model.safetensors`, `pytorch_model.bin`, `model.pt`,
 *      `model.pth`, `model.onnx`, `model.gguf`, `model.json` (TF.js), `tf_model.h5`, `model.h5`,
 *      `model.npz`;
 *   3. any file with a model extension, by extension in the order `.safetensors`, `.pt`, `.pth`,
 *      `.ckpt`, `.bin`, `.onnx`, `.gguf`, `.npz`, `.h5`, `.hdf5`, `.keras`, and by name within an
 *      extension (so the choice never depends on the listing order). Shards that an index would
 *      have claimed (`*-00001-of-00002.*`) are not picked alone.
 * A directory of `.npy` files only is a different case: `isDirectoryOfArrays` says so and
 * `readDirectoryOfArrays` reads it (one tensor per file, named after the file).
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import type { SkippedTensor, TensorIndex, TensorInfo } from "./tensor.js";
import { npyTensor, npyTensorName } from "./npy.js";

const WELL_KNOWN_ENTRIES = [
  "model.safetensors", "pytorch_model.bin", "model.pt", "model.pth", "model.onnx", "model.gguf",
  "model.json", "tf_model.h5", "model.h5", "model.npz",
];

const MODEL_EXTENSIONS = [
  ".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".onnx", ".gguf", ".npz", ".h5", ".hdf5", ".keras",
];

const SHARD_NAME = /-\d{5}-of-\d{5}\.[^.]+$/;

function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

/** Name order that puts `layer2` before `layer10`. */
const naturalOrder = new Intl.Collator("en", { numeric: true }).compare;

/** The file a directory's model starts from (see the module comment), or undefined when none fits. */
export function pickModelEntry(fileNames: readonly string[]): string | undefined {
  const names = [...new Set(fileNames)].filter((name) => !baseName(name).startsWith(".")).sort(naturalOrder);
  const has = new Set(names);
  for (const preferred of ["model.safetensors.index.json", "pytorch_model.bin.index.json"]) {
    if (has.has(preferred)) return preferred;
  }
  const indexes = names.filter((name) => name.endsWith(".index.json"));
  const safetensorsIndex = indexes.find((name) => name.endsWith(".safetensors.index.json"));
  if (safetensorsIndex !== undefined) return safetensorsIndex;
  if (indexes.length > 0) return indexes[0];
  for (const preferred of WELL_KNOWN_ENTRIES) if (has.has(preferred)) return preferred;
  for (const extension of MODEL_EXTENSIONS) {
    const candidate = names.find((name) => name.toLowerCase().endsWith(extension) && !SHARD_NAME.test(name));
    if (candidate !== undefined) return candidate;
  }
  return undefined;
}

/** True when the directory holds `.npy` files and no model file `pickModelEntry` would pick. */
export function isDirectoryOfArrays(fileNames: readonly string[]): boolean {
  return pickModelEntry(fileNames) === undefined && fileNames.some((name) => name.endsWith(".npy"));
}

/**
 * A directory of `.npy` files as one model: one tensor per file, named after the file without
 * `.npy` (`fc1.weight.npy` → `fc1.weight`), in natural name order. Files that are not `.npy` are
 * ignored; an `.npy` file in an unsupported dtype is listed in `skipped`.
 */
export async function readDirectoryOfArrays(files: readonly ByteSource[], directoryName: string): Promise<TensorIndex> {
  const arrays = files
    .filter((file) => file.name.endsWith(".npy"))
    .sort((a, b) => naturalOrder(baseName(a.name), baseName(b.name)));
  if (arrays.length === 0) throw new FormatError(`${directoryName}: directory holds no .npy files`);
  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const seen = new Set<string>();
  for (const file of arrays) {
    const name = npyTensorName(file.name);
    if (seen.has(name)) throw new FormatError(`${directoryName}: two files give the tensor name "${name}"`);
    seen.add(name);
    try {
      tensors.push(await npyTensor(file, name));
    } catch (error) {
      if (!(error instanceof UnsupportedError)) throw error;
      skipped.push({ name, reason: error.message });
    }
  }
  return { format: "npy", tensors, metadata: {}, skipped };
}
