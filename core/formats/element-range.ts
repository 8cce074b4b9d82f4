/**
 * The element-range side of TensorInfo.read that every reader shares: a range outside the tensor
 * is a FormatError naming the file and the tensor, and an empty range reads no bytes.
 */
import { FormatError } from "../errors.js";
import { elementCount, type TensorInfo } from "./tensor.js";

/** Rejects an element range outside a tensor of `total` elements. */
export function checkElementRange(sourceName: string, tensorName: string, total: number, start: number, count: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > total) {
    throw new FormatError(`${sourceName}: tensor "${tensorName}": element range ${start}+${count} outside its ${total} elements`);
  }
}

/** Decodes elements [start, start + count) (count >= 1, inside the tensor) into `out`. */
export type ElementFill = (start: number, count: number, out: Float64Array) => Promise<void>;

/**
 * A tensor whose `read` and `readInto` check the range, then let `fill` decode a non-empty one
 * into a new array or the caller's.
 */
export function rangeCheckedTensor(
  sourceName: string,
  name: string,
  dtype: string,
  shape: readonly number[],
  fill: ElementFill,
): TensorInfo {
  const total = elementCount(shape);
  return {
    name,
    dtype,
    shape,
    async read(start, count) {
      checkElementRange(sourceName, name, total, start, count);
      const out = new Float64Array(count);
      if (count > 0) await fill(start, count, out);
      return out;
    },
    async readInto(start, out) {
      checkElementRange(sourceName, name, total, start, out.length);
      if (out.length > 0) await fill(start, out.length, out);
    },
  };
}
