/**
 * Test helpers for the safetensors, NumPy, PyTorch and sharded readers: files read into memory
 * (siblings resolved in their folder), a source that records the byte ranges asked of it, and
 * tensor comparison helpers.
 */
import type { ByteSource } from "../core/formats/byte-source.js";
import type { TensorIndex, TensorInfo } from "../core/formats/tensor.js";
import { elementCount } from "../core/formats/tensor.js";
import { folderSource } from "./folder-source.js";

/** The file at `filePath`, with siblings resolved in its folder (undefined when absent). */
export function fileBytes(filePath: string): ByteSource {
  return folderSource(filePath);
}

/** Wraps a source and records every range read from it. */
export function countingSource(inner: ByteSource): ByteSource & { reads: Array<[number, number]>; bytesRead(): number } {
  const reads: Array<[number, number]> = [];
  return {
    name: inner.name,
    size: () => inner.size(),
    read: (offset, length) => {
      reads.push([offset, length]);
      return inner.read(offset, length);
    },
    reads,
    bytesRead: () => reads.reduce((sum, [, length]) => sum + length, 0),
  };
}

/** All elements of a tensor. */
export function readAll(tensor: TensorInfo): Promise<Float64Array> {
  return tensor.read(0, elementCount(tensor.shape));
}

/** Names, shapes and dtypes of an index, for whole-structure assertions. */
export function describeIndex(index: TensorIndex): Array<{ name: string; shape: number[]; dtype: string }> {
  return index.tensors.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype }));
}

/** Largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
