/**
 * randomize (spec §4): each matrix of a layer has its entries shuffled (numpy's legacy shuffle of
 * the row-major flattened matrix, in weightwatcher's orientation), and the ESD of the shuffled
 * matrices is compared with the original and with the MP bulk. Eigenvalues of the randomized ESD
 * beyond the bulk edge plus the Tracy-Widom margin are correlation traps.
 *
 * Draws: per layer, first a 5-replica ESD (1 replica when the layer has >= 100 components) for
 * max_rand_eval and the MP fit, then a 1-replica ESD for rand_distance, ww_softrank and
 * ww_maxdist. weightwatcher draws them from numpy's global generator, seeded once and continuing
 * across layers (compat modes); by default each layer has its own generator seeded by
 * [seed, layer_id, slice_id], so a layer's result does not depend on which other layers ran.
 */
import type { SpectralKernel } from "../spectral/kernel.js";
import { fitMarchenkoPastur, type MpFit } from "./mp-fit.js";
import { MT19937, type MT19937State } from "./mt19937.js";
import { numpySum } from "./numpy-sum.js";

/** A matrix as weightwatcher holds it: `rows` x `cols` row-major (not necessarily rows >= cols). */
export interface HeldMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Number of shuffled copies of each matrix in the first randomized ESD (weightwatcher's rule). */
export function replicaCount(numComponents: number): number {
  return numComponents < 100 ? 5 : 1;
}

export interface RandomizedSpectra {
  /** The replicated randomized ESD (ascending): max_rand_eval and the MP fit. */
  replicated: Float64Array;
  /** The second, single-replica randomized ESD (ascending): rand_distance, ww_softrank, ww_maxdist. */
  single: Float64Array;
}

/** Row blocks handed to the kernel when feeding a shuffled matrix. */
const BLOCK_ELEMENTS = 1 << 19;

/** Eigenvalues of XᵀX for the shuffled matrix (Gram of the smaller side), clamped at 0. */
function gramEigenvalues(kernel: SpectralKernel, m: HeldMatrix): Float64Array {
  const small = Math.min(m.rows, m.cols);
  const acc = kernel.gram(small);
  try {
    if (m.rows >= m.cols) {
      const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / m.cols));
      for (let r0 = 0; r0 < m.rows; r0 += blockRows) {
        const count = Math.min(blockRows, m.rows - r0);
        acc.addRows(m.data.subarray(r0 * m.cols, (r0 + count) * m.cols));
      }
    } else {
      // The Gram of the rows side: feed the transposed matrix (its columns as rows).
      const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / m.rows));
      for (let c0 = 0; c0 < m.cols; c0 += blockRows) {
        const count = Math.min(blockRows, m.cols - c0);
        const block = new Float64Array(count * m.rows);
        for (let r = 0; r < m.rows; r++) {
          const rowStart = r * m.cols + c0;
          for (let c = 0; c < count; c++) block[c * m.rows + r] = m.data[rowStart + c]!;
        }
        acc.addRows(block);
      }
    }
  } catch (error) {
    acc.dispose();
    throw error;
  }
  const evals = acc.eigvalsh();
  // Gram rounding noise below zero: clamp (spec §3.1), so that the JS distance stays defined.
  for (let i = 0; i < evals.length; i++) if (evals[i]! < 0) evals[i] = 0;
  return evals;
}

/** One randomized ESD: every matrix shuffled `replicas` times (replica-major), eigenvalues pooled and sorted. */
function randomEigenvalues(kernel: SpectralKernel, matrices: readonly HeldMatrix[], rng: MT19937, replicas: number): Float64Array {
  const parts: Float64Array[] = [];
  for (let r = 0; r < replicas; r++) {
    for (const matrix of matrices) {
      const shuffled = Float64Array.from(matrix.data);
      rng.shuffle(shuffled);
      parts.push(gramEigenvalues(kernel, { data: shuffled, rows: matrix.rows, cols: matrix.cols }));
    }
  }
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Float64Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.sort();
}

/** Both randomized ESDs of a layer, drawn in weightwatcher's order from `rng`. */
export function randomizedSpectra(
  kernel: SpectralKernel,
  matrices: readonly HeldMatrix[],
  numComponents: number,
  rng: MT19937,
): RandomizedSpectra {
  const replicated = randomEigenvalues(kernel, matrices, rng, replicaCount(numComponents));
  const single = randomEigenvalues(kernel, matrices, rng, 1);
  return { replicated, single };
}

/**
 * Advances `rng` past the draws a layer's randomize consumes, without shuffling anything: each
 * shuffle of n elements makes the bounded draws i = n−1 … 1, whose count depends only on the stream.
 */
export function skipLayerDraws(rng: MT19937, matrixSizes: readonly number[], numComponents: number): void {
  const calls = replicaCount(numComponents) + 1;
  for (let c = 0; c < calls; c++) {
    for (const size of matrixSizes) for (let i = size - 1; i >= 1; i--) rng.randomInterval(i);
  }
}

/** The generator of one layer in the default mode: init_by_array([seed, layer_id, slice_id]). */
export function layerGenerator(seed: number, layerId: number, sliceId: number): MT19937 {
  return MT19937.fromKey([seed >>> 0, layerId >>> 0, sliceId >>> 0]);
}

export type { MT19937State };

/**
 * scipy.stats.entropy(p, q): KL divergence of the normalized p from the normalized q, natural log,
 * with 0·ln(0/q) = 0.
 */
function relativeEntropy(p: Float64Array, q: Float64Array): number {
  const sp = numpySum(p);
  const sq = numpySum(q);
  const terms = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / sp;
    const b = q[i]! / sq;
    terms[i] = a > 0 && b > 0 ? a * Math.log(a / b) : a === 0 && b >= 0 ? 0 : Infinity;
  }
  return numpySum(terms);
}

/** weightwatcher's rand_distance: the Jensen-Shannon distance of two sorted eigenvalue vectors as distributions over the index. */
export function jensenShannonDistance(p: Float64Array, q: Float64Array): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannonDistance: lengths ${p.length} and ${q.length} differ`);
  const m = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) m[i] = (p[i]! + q[i]!) / 2;
  return Math.sqrt((relativeEntropy(p, m) + relativeEntropy(q, m)) / 2);
}

export interface RandomizeColumns {
  max_rand_eval: number;
  rand_distance: number;
  ww_softrank: number;
  ww_maxdist: number;
  /** MP fit of the replicated randomized ESD; null when it fails. */
  fit: MpFit | null;
  /** Randomized eigenvalues beyond the fitted bulk edge plus the Tracy-Widom margin, descending. */
  traps: number[];
}

/** The randomize columns of a layer whose (sorted) ESD is `esd`, with reported N and M. */
export function randomizeColumns(esd: Float64Array, spectra: RandomizedSpectra, N: number, M: number): RandomizeColumns {
  const lambdaMax = esd[esd.length - 1]!;
  const replicated = spectra.replicated;
  const single = spectra.single;
  const singleMax = single[single.length - 1]!;
  const fit = fitMarchenkoPastur(replicated, N, M);
  const traps: number[] = [];
  if (fit !== null && fit.num_spikes > 0) {
    for (let i = replicated.length - 1; i >= replicated.length - fit.num_spikes; i--) traps.push(replicated[i]!);
  }
  return {
    max_rand_eval: replicated[replicated.length - 1]!,
    rand_distance: jensenShannonDistance(esd, single),
    ww_softrank: singleMax / lambdaMax,
    ww_maxdist: lambdaMax - singleMax,
    fit,
    traps,
  };
}
