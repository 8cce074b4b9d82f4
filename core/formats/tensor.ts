/**
 * The tensor index: what every format reader produces and the layer planner consumes.
 * A reader parses headers only; tensor values are read later, range by range, through `read`.
 */

export interface TensorInfo {
  /** Name as the container gives it, e.g. `model.layers.3.mlp.down_proj.weight`. */
  readonly name: string;
  /** The container's dtype label (`F32`, `BF16`, `Q4_K`, `float16`, ...). */
  readonly dtype: string;
  /**
   * Logical shape, row-major, in the PyTorch orientation: dense `[out, in]`, conv2d
   * `[out, in, kh, kw]`. Readers of containers with another convention (Keras, TF.js, ONNX MatMul)
   * present their tensors in this orientation.
   */
  readonly shape: readonly number[];
  /** Role the container's structure states for this tensor (not guessed from its name). */
  readonly role?: "embedding";
  /**
   * Elements [start, start + count) of the row-major flattened tensor, widened to float64.
   * Rejects with FormatError when the stored bytes are missing or malformed.
   */
  read(start: number, count: number): Promise<Float64Array>;
  /**
   * The same elements written into `out` (out.length of them from `start`), when the reader can
   * fill a caller's buffer: streaming a large layer then reuses one block instead of allocating.
   */
  readInto?(start: number, out: Float64Array): Promise<void>;
}

export interface SkippedTensor {
  readonly name: string;
  readonly reason: string;
}

export interface TensorIndex {
  /** Format identifier: `safetensors`, `npy`, `npz`, `pytorch`, `onnx`, `gguf`, `tfjs`, `keras-h5`. */
  readonly format: string;
  /** Tensors in the container's own order (shards merged in index order). */
  readonly tensors: readonly TensorInfo[];
  /** Free-form string metadata from the container (safetensors `__metadata__`, GGUF KVs, ...). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors the reader found but cannot present (unsupported dtype, ...), each with its reason. */
  readonly skipped: readonly SkippedTensor[];
}

/** Number of elements of a shape; 1 for a scalar. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}
