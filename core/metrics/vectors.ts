/**
 * vectors (spec §9): eigenvector localization metrics of a layer. For each matrix W as
 * weightwatcher holds it, the eigenvectors of its smaller Gram (W Wᵀ when rows <= cols, else WᵀW)
 * are measured by
 *   - loc_ratio   = ‖v‖₁ / ‖v‖_∞,
 *   - part_ratio  = ‖v‖₂ / ‖v‖₄,
 *   - vec_entropy = the discrete entropy of a 100-bin histogram of |v| − mean|v|,
 * pooled over the layer's matrices and sorted by eigenvalue. The tail is the top num_pl_spikes
 * vectors (the eigenvalues the power-law fit used) and the bulk the rest: decided by position, not
 * by comparing recomputed eigenvalues with xmin, which weightwatcher's solver puts on either side
 * of the xmin vector by rounding (§9). A failed fit puts every vector in the tail (weightwatcher's
 * xmin = −1). Each group reports the mean and population variance of each metric.
 */
import type { SpectralKernel } from "../spectral/kernel.js";
import { eighOfMatrix } from "../spectral/wasm-kernel.js";
import type { LayerRecord } from "../report.js";
import { numpySum } from "./numpy-sum.js";
import type { HeldMatrix } from "./randomize.js";

/** Bins of the vec_entropy histogram (weightwatcher's choice). */
export const ENTROPY_BINS = 100;
/** Added to every bin's density before normalizing, so that empty bins have a logarithm. */
const BIN_FLOOR = 1e-10;

/** The three metrics of one unit eigenvector. */
export interface VectorMetric {
  vec_entropy: number;
  loc_ratio: number;
  part_ratio: number;
}

export const VECTOR_METRICS = ["vec_entropy", "loc_ratio", "part_ratio"] as const;

/** A layer's eigenvectors' metrics, pooled over its matrices, ascending by eigenvalue. */
export interface LayerVectorMetrics {
  evals: Float64Array;
  metrics: VectorMetric[];
}

export type VectorColumns = Pick<LayerRecord,
  | "bulk_mean_vec_entropy" | "bulk_var_vec_entropy" | "bulk_mean_loc_ratio" | "bulk_var_loc_ratio"
  | "bulk_mean_part_ratio" | "bulk_var_part_ratio" | "tail_mean_vec_entropy" | "tail_var_vec_entropy"
  | "tail_mean_loc_ratio" | "tail_var_loc_ratio" | "tail_mean_part_ratio" | "tail_var_part_ratio">;

/** ‖v‖₁ / ‖v‖_∞ (1 for a basis vector, n for a flat one). */
export function localizationRatio(v: ArrayLike<number>): number {
  let l1 = 0;
  let inf = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    l1 += a;
    if (a > inf) inf = a;
  }
  return l1 / inf;
}

/** ‖v‖₂ / ‖v‖₄ (1 for a basis vector, n^(1/4) for a flat one). */
export function participationRatio(v: ArrayLike<number>): number {
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < v.length; i++) {
    const a2 = v[i]! * v[i]!;
    s2 += a2;
    s4 += a2 * a2;
  }
  return Math.sqrt(s2) / Math.sqrt(Math.sqrt(s4));
}

/**
 * Discrete entropy of v as weightwatcher computes it: a = |v| − mean|v|; numpy's
 * histogram(a, bins=100, density=True) (equal bins over [min a, max a], widened by ±0.5 when a is
 * constant); p ∝ density + 1e-10, normalized; −Σ p ln p. (weightwatcher also divides p by √(2π)
 * before normalizing, which cancels.)
 */
export function vectorEntropy(v: ArrayLike<number>): number {
  const n = v.length;
  const abs = new Float64Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(v[i]!);
  const mean = numpySum(abs) / n;
  const a = abs.map((x) => x - mean);
  let first = Infinity;
  let last = -Infinity;
  for (const x of a) {
    if (x < first) first = x;
    if (x > last) last = x;
  }
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const edges = binEdges(first, last, ENTROPY_BINS);
  const counts = new Float64Array(ENTROPY_BINS);
  for (const x of a) counts[binIndex(x, first, last, edges)]! += 1;
  const p = new Float64Array(ENTROPY_BINS);
  for (let b = 0; b < ENTROPY_BINS; b++) p[b] = counts[b]! / (edges[b + 1]! - edges[b]!) / n + BIN_FLOOR;
  const total = numpySum(p);
  const terms = p.map((x) => {
    const q = x / total;
    return q * Math.log(q);
  });
  return -numpySum(terms);
}

/** numpy.linspace(first, last, bins + 1): i·step + first, the last edge exactly `last`. */
function binEdges(first: number, last: number, bins: number): Float64Array {
  const step = (last - first) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** numpy's bin of x for equal bins: the scaled offset, then one step of correction against the edges. */
function binIndex(x: number, first: number, last: number, edges: Float64Array): number {
  const bins = edges.length - 1;
  let index = Math.trunc(((x - first) / (last - first)) * bins);
  if (index === bins) index--;
  if (x < edges[index]!) index--;
  else if (x >= edges[index + 1]! && index !== bins - 1) index++;
  return index;
}

export function vectorMetric(v: ArrayLike<number>): VectorMetric {
  return { vec_entropy: vectorEntropy(v), loc_ratio: localizationRatio(v), part_ratio: participationRatio(v) };
}

/**
 * The metrics of every eigenvector of every matrix of a layer, with the eigenvalues, pooled and
 * sorted ascending (stable: ties keep matrix order, then the kernel's order).
 */
export function layerVectorMetrics(kernel: SpectralKernel, matrices: readonly HeldMatrix[]): LayerVectorMetrics {
  const pooled: Array<{ value: number; metric: VectorMetric }> = [];
  for (const matrix of matrices) {
    // weightwatcher's side: W Wᵀ when rows <= cols (a square W gives its left vectors), else WᵀW
    const side = matrix.rows <= matrix.cols ? "rows" : "columns";
    const { values, vectors } = eighOfMatrix(kernel, matrix.data, matrix.rows, matrix.cols, side);
    const m = values.length;
    for (let i = 0; i < m; i++) pooled.push({ value: values[i]!, metric: vectorMetric(vectors.subarray(i * m, (i + 1) * m)) });
  }
  pooled.sort((x, y) => x.value - y.value);
  return { evals: Float64Array.from(pooled, (e) => e.value), metrics: pooled.map((e) => e.metric) };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : numpySum(values) / values.length;
}

/** Population variance (numpy's var: mean of squared deviations from the mean). */
function variance(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const mu = mean(values);
  return numpySum(values.map((x) => (x - mu) ** 2)) / values.length;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * The twelve columns for a split with `tailCount` vectors in the tail (the top ones); null
 * tailCount (a failed fit) puts every vector in the tail. Empty groups give null.
 */
export function vectorColumns(layer: LayerVectorMetrics, tailCount: number | null): VectorColumns {
  const total = layer.metrics.length;
  const tail = tailCount === null ? total : Math.max(0, Math.min(total, tailCount));
  const groups = { bulk: layer.metrics.slice(0, total - tail), tail: layer.metrics.slice(total - tail) };
  const columns: Record<string, number | null> = {};
  for (const group of ["bulk", "tail"] as const) {
    for (const metric of VECTOR_METRICS) {
      const values = groups[group].map((m) => m[metric]);
      columns[`${group}_mean_${metric}`] = finiteOrNull(mean(values));
      columns[`${group}_var_${metric}`] = finiteOrNull(variance(values));
    }
  }
  return columns as VectorColumns;
}
