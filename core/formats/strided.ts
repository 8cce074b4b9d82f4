/**
 * Tensors whose elements are not stored in row-major order: a PyTorch view with arbitrary
 * strides, a NumPy array in Fortran (column-major) order. `read` still returns elements of the
 * row-major flattening of the logical shape; each call fetches the span of stored elements its
 * range touches and picks the elements out of it.
 */
import type { ByteSource } from "./byte-source.js";
import { UnsupportedError } from "../errors.js";
import type { TensorInfo } from "./tensor.js";
import type { ElementType } from "./dtype.js";
import { rangeCheckedTensor } from "./element-range.js";
import { contiguousTensor } from "./safetensors.js";

/** Stored bytes one read may span. A transposed matrix spans the whole matrix for every row block. */
export const MAX_STRIDED_SPAN_BYTES = 256 * 1024 * 1024;

/** Row-major strides (in elements) of a shape. */
export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  return strides;
}

/** Column-major (Fortran) strides (in elements) of a shape. */
export function columnMajorStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let stride = 1;
  for (const dim of shape) {
    strides.push(stride);
    stride *= dim;
  }
  return strides;
}

/** True when `strides` lay `shape` out row-major (dimensions of size 1 may have any stride). */
export function isRowMajor(shape: readonly number[], strides: readonly number[]): boolean {
  const expected = rowMajorStrides(shape);
  return shape.every((dim, d) => dim <= 1 || strides[d] === expected[d]);
}

/**
 * A tensor of `shape` whose element at multi-index (i_0..i_{n-1}) is stored at element
 * `offset + sum(i_d * strides[d])` of the element array that starts at `byteOffset` of `source`.
 * Callers validate that every such position lies inside the stored data.
 */
export function stridedTensor(
  source: ByteSource,
  name: string,
  dtype: string,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  byteOffset: number,
  type: ElementType,
): TensorInfo {
  if (isRowMajor(shape, strides)) {
    return contiguousTensor(source, name, dtype, shape, byteOffset + offset * type.size, type);
  }
  const rank = shape.length;
  return rangeCheckedTensor(source.name, name, dtype, shape, async (start, count, out) => {
    // Multi-index of `start`, then step through the range like an odometer.
    const index = new Array<number>(rank).fill(0);
    let rest = start;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    const positions = new Float64Array(count);
    let position = offset;
    for (let d = 0; d < rank; d++) position += index[d]! * strides[d]!;
    let low = position;
    let high = position;
    for (let i = 0; i < count; i++) {
      positions[i] = position;
      if (position < low) low = position;
      if (position > high) high = position;
      for (let d = rank - 1; d >= 0; d--) {
        index[d]!++;
        position += strides[d]!;
        if (index[d]! < shape[d]!) break;
        position -= index[d]! * strides[d]!;
        index[d] = 0;
      }
    }
    const spanBytes = (high - low + 1) * type.size;
    if (spanBytes > MAX_STRIDED_SPAN_BYTES) {
      throw new UnsupportedError(`${source.name}: tensor "${name}" is not stored row-major (strides ${JSON.stringify(strides)}); reading ${count} of its elements would fetch ${spanBytes} bytes at once, above the ${MAX_STRIDED_SPAN_BYTES}-byte limit`);
    }
    const bytes = await source.read(byteOffset + low * type.size, spanBytes);
    const one = new Float64Array(1);
    for (let i = 0; i < count; i++) {
      const at = (positions[i]! - low) * type.size;
      type.decode(bytes.subarray(at, at + type.size), 1, one, 0);
      out[i] = one[0]!;
    }
  });
}
