/**
 * Format detection by content (never by file name) and dispatch to the reader of that format.
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError } from "../errors.js";
import type { TensorIndex } from "./tensor.js";
import { looksLikeSafetensors, readSafetensors } from "./safetensors.js";
import { looksLikeTorchLegacy, looksLikeTorchZip, readTorchLegacy, readTorchZip, rejectOtherZip } from "./pytorch.js";
import { looksLikeNpz, readNpz } from "./npz.js";
import { looksLikeNpy, readNpy } from "./npy.js";
import { looksLikeShardedIndex, readShardedIndex } from "./sharded.js";
import { looksLikeZip } from "./zip.js";
import { looksLikeOnnx, readOnnx } from "./onnx.js";
import { looksLikeTfjs, readTfjs } from "./tfjs.js";
import { looksLikeHdf5, readKerasH5 } from "./keras-h5.js";
import { looksLikeGguf, readGguf } from "./gguf.js";
import { lenientUtf8 } from "./text.js";

export interface FormatReader {
  /** Format identifier, as in TensorIndex.format. */
  readonly format: string;
  /** True when `head` (the first bytes of the file, up to 4096) belongs to this format. */
  detect(head: Uint8Array, fileSize: number, source: ByteSource): boolean | Promise<boolean>;
  read(source: ByteSource): Promise<TensorIndex>;
}

/** Readers in the order they are tried; the most specific signatures first. */
export const FORMAT_READERS: readonly FormatReader[] = [
  { format: "gguf", detect: looksLikeGguf, read: readGguf },
  { format: "safetensors", detect: looksLikeSafetensors, read: readSafetensors },
  { format: "pytorch", detect: looksLikeTorchZip, read: readTorchZip },
  { format: "npz", detect: looksLikeNpz, read: readNpz },
  { format: "pytorch", detect: looksLikeTorchLegacy, read: readTorchLegacy },
  { format: "npy", detect: looksLikeNpy, read: readNpy },
  { format: "sharded", detect: looksLikeShardedIndex, read: readShardedIndex },
  // After every zip-based reader (add those above): any other zip is refused with its member list.
  { format: "zip", detect: looksLikeZip, read: rejectOtherZip },
  { format: "keras-h5", detect: looksLikeHdf5, read: readKerasH5 },
  { format: "tfjs", detect: looksLikeTfjs, read: readTfjs },
  { format: "onnx", detect: looksLikeOnnx, read: readOnnx },
];

export const HEAD_BYTES = 4096;

/** Detects the container format of `source` from its first bytes and reads its tensor index. */
export async function openTensorIndex(source: ByteSource): Promise<TensorIndex> {
  const size = await source.size();
  if (size === 0) throw new FormatError(`${source.name}: file is empty, not a model`);
  const head = await source.read(0, Math.min(size, HEAD_BYTES));
  for (const reader of FORMAT_READERS) {
    if (await reader.detect(head, size, source)) return reader.read(source);
  }
  throw new FormatError(`${source.name}: not a model file alphawatch can read (${describeHead(head)})`);
}

function describeHead(head: Uint8Array): string {
  const text = lenientUtf8.decode(head.subarray(0, 64));
  if (/^\s*<(!doctype|html)/i.test(text)) return "it is an HTML page";
  if (text.startsWith("version https://git-lfs.github.com/spec/")) {
    return "it is a Git LFS pointer, not the file it points to: fetch the object with `git lfs pull`";
  }
  if (/^\s*[{[]/.test(text)) return `it is JSON text, not a model: ${JSON.stringify(text.trim().slice(0, 60))}`;
  const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `unrecognised content, first bytes ${hex}`;
}
