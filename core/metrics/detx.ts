/**
 * detX (spec §8): rescale the ESD to mean 1 and find the smallest tail whose product, taken from
 * the top down, first drops below 1 ("det X = 1"). Its lower end is an alternative estimate of
 * the power-law xmin.
 */
import { numpySum } from "./numpy-sum.js";

export interface DetX {
  /** Eigenvalues in the tail. */
  detX_num: number;
  /** The tail's smallest eigenvalue in the ESD's units. */
  value: number;
  /** The same eigenvalue rescaled to mean 1. */
  rescaledValue: number;
}

/** detX of an ascending ESD; products are taken as numpy's np.prod (in order, from the tail start). */
export function detX(esd: Float64Array): DetX {
  const n = esd.length;
  if (n === 0) return { detX_num: 0, value: NaN, rescaledValue: NaN };
  const scale = Math.sqrt(n) / Math.sqrt(numpySum(esd));
  const factor = scale * scale;
  const y = esd.map((v) => factor * v);
  let num = 0;
  let idx = 0;
  if (n >= 2 && y[0]! < y[n - 1]!) {
    num = n;
    for (idx = n - 1; idx >= 1; idx--) {
      let product = 1;
      for (let j = idx; j < n; j++) product *= y[j]!;
      if (product < 1) {
        num = n - idx;
        break;
      }
    }
    // No tail product below 1: weightwatcher's loop ends at idx 1 (idx 0 is never examined).
    if (idx < 1) idx = 1;
  }
  return { detX_num: num, value: esd[idx]!, rescaledValue: y[idx]! };
}
