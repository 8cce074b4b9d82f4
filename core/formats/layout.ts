/**
 * Presenting a stored tensor in the PyTorch orientation (dense `[out, in]`, conv `[out, in, ...k]`)
 * when its container stores it another way (TensorFlow/Keras `[in, out]` and `[kh, kw, in, out]`,
 * ONNX MatMul `[in, out]`). A permuted tensor is read whole (within a limit) and its elements are
 * gathered in presented order; the last tensor read is kept so that reading one tensor in row
 * ranges costs one read of the stored bytes.
 */
import { BudgetError } from "../errors.js";
import { checkElementRange } from "./element-range.js";
import { rowMajorStrides } from "./strided.js";
import { elementCount, type TensorInfo } from "./tensor.js";

/** Elements [start, start + count) of the stored row-major tensor, as float64. */
export type ElementReader = (start: number, count: number) => Promise<Float64Array>;

/**
 * Largest tensor (in elements) that may be read whole to permute it: 2^25 elements (256 MiB as
 * float64), e.g. a 4096 x 8192 projection. Larger permuted tensors fail with a BudgetError.
 */
export const MAX_PERMUTED_ELEMENTS = 2 ** 25;

/** How a stored tensor maps to the presented one. */
export interface TensorLayout {
  /** Presented shape (PyTorch orientation). */
  readonly shape: readonly number[];
  /**
   * Shape the permutation applies to: the stored shape, possibly with adjacent axes merged
   * (which keeps the row-major element order). Same element count as `shape`.
   */
  readonly storedShape: readonly number[];
  /**
   * Presented axis k is axis perm[k] of `storedShape`; `shape` equals the permuted `storedShape`
   * up to inserted axes of length 1. Undefined: no permutation (element order unchanged).
   */
  readonly perm?: readonly number[];
}

/** The stored shape as is. */
export function identityLayout(shape: readonly number[]): TensorLayout {
  return { shape, storedShape: shape };
}

/** A 2-D `[in, out]` matrix presented as `[out, in]`. */
export function transposedLayout(shape: readonly number[]): TensorLayout {
  if (shape.length !== 2) return identityLayout(shape);
  return { shape: [shape[1]!, shape[0]!], storedShape: shape, perm: [1, 0] };
}

/**
 * TensorFlow kernel conventions: dense `[in, out]` → `[out, in]`; conv1d `[k, in, out]` →
 * `[out, in, k]`; conv2d `[kh, kw, in, out]` → `[out, in, kh, kw]`; conv3d likewise. Other ranks
 * are left as stored.
 */
export function tfKernelLayout(shape: readonly number[]): TensorLayout {
  const rank = shape.length;
  if (rank < 2 || rank > 5) return identityLayout(shape);
  // Output axis last, input axis before it, spatial axes first.
  const perm = [rank - 1, rank - 2, ...Array.from({ length: rank - 2 }, (_, i) => i)];
  return { shape: perm.map((axis) => shape[axis]!), storedShape: shape, perm };
}

/**
 * TensorFlow depthwise kernel `[kh, kw, in, multiplier]` → `[in * multiplier, 1, kh, kw]`, the
 * weight of the equivalent PyTorch convolution with `groups = in` (output channel c*multiplier+m
 * sees input channel c only). Other ranks fall back to tfKernelLayout.
 */
export function tfDepthwiseLayout(shape: readonly number[]): TensorLayout {
  if (shape.length !== 4) return tfKernelLayout(shape);
  const [kh, kw, channels, multiplier] = shape as [number, number, number, number];
  return {
    shape: [channels * multiplier, 1, kh, kw],
    storedShape: [kh, kw, channels * multiplier],
    perm: [2, 0, 1],
  };
}

/** Keeps the most recently read whole tensor, so row-range reads of one tensor read it once. */
export class WholeTensorCache {
  private key: object | undefined;
  private data: Promise<Float64Array> | undefined;

  get(key: object, load: () => Promise<Float64Array>): Promise<Float64Array> {
    if (this.key !== key || this.data === undefined) {
      this.key = key;
      this.data = load();
      // A failed load must not stay cached.
      this.data.catch(() => {
        if (this.key === key) {
          this.key = undefined;
          this.data = undefined;
        }
      });
    }
    return this.data;
  }
}

export interface PresentedTensorSpec {
  readonly sourceName: string;
  readonly name: string;
  readonly dtype: string;
  readonly layout: TensorLayout;
  readonly role?: "embedding";
  /** Reads the stored tensor (row-major in `layout.storedShape`). */
  readonly readStored: ElementReader;
  readonly cache: WholeTensorCache;
}

/** A TensorInfo that presents a stored tensor through its layout. */
export function presentedTensor(spec: PresentedTensorSpec): TensorInfo {
  const { sourceName, name, layout, readStored, cache } = spec;
  const total = elementCount(layout.shape);
  const perm = layout.perm;
  const isIdentity = perm === undefined || perm.every((axis, k) => axis === k);
  const key = {};
  const read = isIdentity
    ? async (start: number, count: number): Promise<Float64Array> => {
        checkElementRange(sourceName, name, total, start, count);
        return readStored(start, count);
      }
    : async (start: number, count: number): Promise<Float64Array> => {
        checkElementRange(sourceName, name, total, start, count);
        if (total > MAX_PERMUTED_ELEMENTS) {
          throw new BudgetError(
            `${sourceName}: tensor "${name}" ${JSON.stringify(layout.shape)} has ${total} elements; presenting it in [out, in] orientation reads it whole, allowed up to ${MAX_PERMUTED_ELEMENTS}`,
          );
        }
        const stored = await cache.get(key, () => readStored(0, total));
        return gather(stored, layout.storedShape, perm, start, count);
      };
  const info: TensorInfo = spec.role === undefined
    ? { name, dtype: spec.dtype, shape: layout.shape, read }
    : { name, dtype: spec.dtype, shape: layout.shape, role: spec.role, read };
  return info;
}

/** Elements [start, start + count) of the permuted view of `stored` (row-major in storedShape). */
function gather(
  stored: Float64Array,
  storedShape: readonly number[],
  perm: readonly number[],
  start: number,
  count: number,
): Float64Array {
  const rank = storedShape.length;
  const storedStrides = rowMajorStrides(storedShape);
  const dims = perm.map((axis) => storedShape[axis]!);
  const strides = perm.map((axis) => storedStrides[axis]!);
  // Multi-index of `start` in the permuted shape, then an odometer walk.
  const index = new Array<number>(rank).fill(0);
  let remainder = start;
  let offset = 0;
  for (let k = rank - 1; k >= 0; k--) {
    const dim = dims[k]!;
    index[k] = remainder % dim;
    remainder = Math.floor(remainder / dim);
    offset += index[k]! * strides[k]!;
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = stored[offset]!;
    for (let k = rank - 1; k >= 0; k--) {
      index[k]!++;
      offset += strides[k]!;
      if (index[k]! < dims[k]!) break;
      offset -= index[k]! * strides[k]!;
      index[k] = 0;
    }
  }
  return out;
}
