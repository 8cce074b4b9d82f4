/**
 * fix_fingers='clip_xmax' (spec §6.1): a few isolated very large eigenvalues ("fingers") can pull
 * the power-law fit to a spuriously large alpha. Refit with the top k eigenvalues removed, and
 * accept the first refit whose alpha is more than finger_thresh below the unclipped one.
 */
import { FIT_THRESHOLD, fitTail, type PowerLawFit } from "./powerlaw.js";

export interface FingersFit extends PowerLawFit {
  /** Eigenvalues removed from the top (weightwatcher reports one less, §15.7). */
  num_fingers: number;
  /** Alpha of the unclipped fit. */
  raw_alpha: number;
}

export interface FingersOptions {
  max_fingers: number;
  finger_thresh: number;
  /**
   * weightwatcher 0.7.5.5: max_fingers replaced by 10 whenever it is below half the ESD, removals
   * of 2 … max_fingers − 1 tried, and the count reported one less than the number removed.
   * Otherwise: removals of 1 … max_fingers tried (leaving at least 2 values), the count reported as is.
   */
  compat: boolean;
}

/** Stop clipping once a refit's alpha is at or below this (weightwatcher's min_alpha). */
const MIN_ALPHA = 2.0;

function fitOf(data: Float64Array, esd: Float64Array): PowerLawFit | null {
  const tail = fitTail(data);
  if (tail === null) return null;
  const xmin = data[tail.index]!;
  let spikes = 0;
  for (let i = 0; i < esd.length; i++) if (esd[i]! >= xmin) spikes++;
  return {
    alpha: tail.alpha,
    D: tail.D,
    sigma: (tail.alpha - 1) / Math.sqrt(tail.tailSize),
    xmin,
    xmax: data[data.length - 1]!,
    num_pl_spikes: spikes,
  };
}

/** The clip_xmax fit of an ascending ESD; null when even the unclipped fit has no candidate. */
export function fitWithoutFingers(esd: Float64Array, options: FingersOptions): FingersFit | null {
  let first = 0;
  while (first < esd.length && !(esd[first]! > FIT_THRESHOLD)) first++;
  const data = esd.subarray(first);
  const raw = fitOf(data, esd);
  if (raw === null) return null;
  let maxFingers = options.max_fingers;
  let lowest = 1;
  let highest = maxFingers;
  if (options.compat) {
    if (maxFingers < esd.length / 2) maxFingers = 10;
    lowest = 2;
    highest = maxFingers - 1;
  }
  for (let removed = lowest; removed <= highest; removed++) {
    if (data.length - removed < 2) break;
    const fit = fitOf(data.subarray(0, data.length - removed), esd);
    if (fit === null) break;
    if (fit.alpha + options.finger_thresh < raw.alpha) {
      return { ...fit, num_fingers: options.compat ? removed - 1 : removed, raw_alpha: raw.alpha };
    }
    if (fit.alpha <= MIN_ALPHA) break;
  }
  return { ...raw, num_fingers: 0, raw_alpha: raw.alpha };
}
