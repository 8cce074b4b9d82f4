/**
 * distances(A, B): how far two checkpoints of the same architecture are apart, layer by layer.
 * Layers are paired by name (core/compare's matching: exact name, then the cross-container
 * canonical name, then a renamed identical matrix), never by position (weightwatcher's zip,
 * §15.18). Per pair:
 *   - frobenius: ‖W_a − W_b‖_F over the raw weight tensors (as stored, PyTorch orientation; conv
 *     kernels 4-D and unscaled), streamed block by block from both sources;
 *   - the change in alpha and in spectral_norm (weightwatcher's column: λ_max of X = WᵀW);
 *   - overlap: of the top-k right singular subspaces, ‖V_aᵀ V_b‖_F² / k (1 = the same subspace,
 *     k/M expected for unrelated random subspaces), where V holds the eigenvectors of the k largest
 *     eigenvalues of each matrix's smaller Gram (the kernel's eigenvector path); for conv2d the
 *     mean over the kh·kw slices. k = min(requested k, M).
 */
import { analyze, planLayers, resolveOptions } from "./analyze.js";
import { UsageError } from "./errors.js";
import type { ByteSource } from "./formats/byte-source.js";
import { openTensorIndex } from "./formats/open.js";
import type { TensorIndex, TensorInfo } from "./formats/tensor.js";
import { matchLayers, type MatchKind } from "./compare/index.js";
import { heldMatrices, RANDOMIZE_MAX_ELEMENTS } from "./layers/stream.js";
import type { PlannedLayer } from "./layers/plan.js";
import type { AnalyzeOptions, LayerRecord, LayerType, Report } from "./report.js";
import type { SpectralKernel } from "./spectral/kernel.js";
import { eighOfMatrix } from "./spectral/wasm-kernel.js";
import { VERSION } from "./version.js";

export const DISTANCES_SCHEMA_VERSION = 1;
/** Default size of the compared singular subspaces. */
export const DEFAULT_OVERLAP_K = 10;
/** Elements read per block from each tensor for the Frobenius distance (4 MiB of float64). */
const FROBENIUS_BLOCK_ELEMENTS = 1 << 19;

export const FROBENIUS_METHOD = "frobenius: ||W_a - W_b||_F over the raw weight tensors as stored (conv kernels 4-D, unscaled)";
export const OVERLAP_METHOD =
  "overlap: ||V_a^T V_b||_F^2 / k for the top-k right singular vectors (eigenvectors of the k largest eigenvalues of the smaller Gram matrix); conv2d: mean over slices; 1 = same subspace";

export interface DistanceOptions {
  /** Singular vectors per subspace (capped at each layer's M). Default 10. */
  k: number;
  /** Layer selection and analysis options, as for analyze (both checkpoints get the same). */
  analysis: Partial<AnalyzeOptions>;
}

export interface DistanceDeps {
  kernel: SpectralKernel;
  openIndex?: (source: ByteSource) => Promise<TensorIndex>;
  now?: () => number;
}

export interface LayerDistance {
  /** Name in B (the name in A when it differs: name_a) and how the two were paired. */
  name: string;
  name_a: string;
  match: MatchKind;
  slice_id?: number;
  layer_type: LayerType;
  N: number;
  M: number;
  frobenius: number | null;
  /** frobenius / ‖W_a‖_F (null when W_a = 0). */
  frobenius_relative: number | null;
  alpha_a: number | null;
  alpha_b: number | null;
  /** alpha_b − alpha_a (null when either fit failed). */
  delta_alpha: number | null;
  spectral_norm_a: number;
  spectral_norm_b: number;
  delta_spectral_norm: number;
  overlap: number | null;
  /** Vectors per subspace for this layer: min(k, M). */
  k: number;
  /** Why a metric is null (different shapes, a layer too large to hold). */
  notes?: string[];
}

export interface DistanceReport {
  schemaVersion: typeof DISTANCES_SCHEMA_VERSION;
  tool: { name: "alphawatch"; version: string };
  a: { path: string; format: string };
  b: { path: string; format: string };
  method: { pairing: "name"; frobenius: string; overlap: string; k: number };
  layers: LayerDistance[];
  /** Analyzed layers present in one checkpoint only. */
  only_in_a: string[];
  only_in_b: string[];
  summary: {
    num_layers: number;
    /** Means over the layers where the metric is defined. */
    mean_frobenius: number | null;
    mean_overlap: number | null;
    mean_delta_alpha: number | null;
  };
}

export async function distances(
  a: ByteSource,
  b: ByteSource,
  options: Partial<DistanceOptions>,
  deps: DistanceDeps,
): Promise<DistanceReport> {
  const k = options.k ?? DEFAULT_OVERLAP_K;
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`option k: ${JSON.stringify(k)} is not an integer >= 1`);
  const resolved = resolveOptions(options.analysis ?? {});
  const open = deps.openIndex ?? openTensorIndex;
  // One after the other: a kernel instance holds one Gram at a time.
  const side = async (source: ByteSource): Promise<Side> => {
    const index = await open(source);
    const report = await analyze(source, resolved, { kernel: deps.kernel, openIndex: async () => index, hashSource: false, ...(deps.now ? { now: deps.now } : {}) });
    return { source, index, report, plan: planLayers(index, resolved) };
  };
  const sideA = await side(a);
  const sideB = await side(b);
  const matching = matchLayers(sideA.report.layers, sideB.report.layers);
  const layers: LayerDistance[] = [];
  for (const pair of matching.pairs) {
    layers.push(await layerDistance(deps.kernel, pair.base, pair.head, pair.match, planned(sideA, pair.base), planned(sideB, pair.head), k));
  }
  const defined = (values: Array<number | null>): number | null => {
    const finite = values.filter((x): x is number => x !== null && Number.isFinite(x));
    return finite.length === 0 ? null : finite.reduce((s, x) => s + x, 0) / finite.length;
  };
  return {
    schemaVersion: DISTANCES_SCHEMA_VERSION,
    tool: { name: "alphawatch", version: VERSION },
    a: { path: a.name, format: sideA.index.format },
    b: { path: b.name, format: sideB.index.format },
    method: { pairing: "name", frobenius: FROBENIUS_METHOD, overlap: OVERLAP_METHOD, k },
    layers,
    only_in_a: matching.removed.map(recordName),
    only_in_b: matching.added.map(recordName),
    summary: {
      num_layers: layers.length,
      mean_frobenius: defined(layers.map((l) => l.frobenius)),
      mean_overlap: defined(layers.map((l) => l.overlap)),
      mean_delta_alpha: defined(layers.map((l) => l.delta_alpha)),
    },
  };
}

interface Side {
  source: ByteSource;
  index: TensorIndex;
  report: Report;
  plan: ReturnType<typeof planLayers>;
}

function recordName(record: LayerRecord): string {
  return record.slice_id === undefined ? record.name : `${record.name}#${record.slice_id}`;
}

function planned(side: Side, record: LayerRecord): PlannedLayer {
  const layer = side.plan.layers.find((l) => l.layer_id === record.layer_id && l.slice_id === record.slice_id);
  if (layer === undefined) throw new Error(`distances: no planned layer for ${recordName(record)} in ${side.source.name}`);
  return layer;
}

async function layerDistance(
  kernel: SpectralKernel,
  recordA: LayerRecord,
  recordB: LayerRecord,
  match: MatchKind,
  layerA: PlannedLayer,
  layerB: PlannedLayer,
  kRequested: number,
): Promise<LayerDistance> {
  const notes: string[] = [];
  const sameShape = sameDims(layerA.tensor.shape, layerB.tensor.shape);
  let frobenius: number | null = null;
  let frobeniusRelative: number | null = null;
  let overlap: number | null = null;
  const k = Math.min(kRequested, recordB.M);
  if (!sameShape) {
    notes.push(`weight shapes differ (${layerA.tensor.shape.join("x")} vs ${layerB.tensor.shape.join("x")}): no frobenius distance or overlap`);
  } else {
    const { difference, normA } = await frobeniusDistance(layerA.tensor, layerB.tensor);
    frobenius = difference;
    frobeniusRelative = normA > 0 ? difference / normA : null;
    const elements = layerA.tensor.shape.reduce((x, y) => x * y, 1);
    if (elements > RANDOMIZE_MAX_ELEMENTS) {
      notes.push(`overlap needs the whole matrix in memory; ${elements} elements exceed the ${RANDOMIZE_MAX_ELEMENTS}-element limit`);
    } else {
      overlap = await subspaceOverlap(kernel, layerA, layerB, k);
    }
  }
  const delta = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : y - x);
  const result: LayerDistance = {
    name: recordB.name,
    name_a: recordA.name,
    match,
    layer_type: recordB.layer_type,
    N: recordB.N,
    M: recordB.M,
    frobenius,
    frobenius_relative: frobeniusRelative,
    alpha_a: recordA.alpha,
    alpha_b: recordB.alpha,
    delta_alpha: delta(recordA.alpha, recordB.alpha),
    spectral_norm_a: recordA.spectral_norm,
    spectral_norm_b: recordB.spectral_norm,
    delta_spectral_norm: recordB.spectral_norm - recordA.spectral_norm,
    overlap,
    k,
  };
  if (recordB.slice_id !== undefined) result.slice_id = recordB.slice_id;
  if (notes.length > 0) result.notes = notes;
  return result;
}

function sameDims(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** ‖A − B‖_F and ‖A‖_F, reading both tensors in blocks (scaled sums: no overflow for huge weights). */
export async function frobeniusDistance(a: TensorInfo, b: TensorInfo): Promise<{ difference: number; normA: number }> {
  const total = a.shape.reduce((x, y) => x * y, 1);
  const difference = new ScaledSumOfSquares();
  const normA = new ScaledSumOfSquares();
  for (let start = 0; start < total; start += FROBENIUS_BLOCK_ELEMENTS) {
    const count = Math.min(FROBENIUS_BLOCK_ELEMENTS, total - start);
    const [blockA, blockB] = await Promise.all([a.read(start, count), b.read(start, count)]);
    for (let i = 0; i < count; i++) {
      difference.add(blockA[i]! - blockB[i]!);
      normA.add(blockA[i]!);
    }
  }
  return { difference: difference.norm(), normA: normA.norm() };
}

/** √Σx² as LAPACK's dnrm2 keeps it: scale · √sumsq, rescaled whenever a larger |x| arrives. */
class ScaledSumOfSquares {
  private scale = 0;
  private sumsq = 1;
  add(x: number): void {
    if (x === 0) return;
    const a = Math.abs(x);
    if (this.scale < a) {
      this.sumsq = 1 + this.sumsq * (this.scale / a) ** 2;
      this.scale = a;
    } else {
      this.sumsq += (a / this.scale) ** 2;
    }
  }
  norm(): number {
    return this.scale * Math.sqrt(this.sumsq);
  }
}

/**
 * Mean over the layer's matrices (one, or the conv2d slices) of ‖V_aᵀ V_b‖_F² / k, V the
 * eigenvectors of the k largest eigenvalues of the smaller Gram of each matrix.
 */
async function subspaceOverlap(kernel: SpectralKernel, layerA: PlannedLayer, layerB: PlannedLayer, k: number): Promise<number> {
  const [matricesA, matricesB] = await Promise.all([heldMatrices(layerA), heldMatrices(layerB)]);
  let sum = 0;
  for (let s = 0; s < matricesA.length; s++) {
    const ma = matricesA[s]!, mb = matricesB[s]!;
    const side = ma.rows >= ma.cols ? "columns" : "rows";
    const ea = eighOfMatrix(kernel, ma.data, ma.rows, ma.cols, side);
    const eb = eighOfMatrix(kernel, mb.data, mb.rows, mb.cols, side);
    sum += topSubspaceOverlap(ea.vectors, eb.vectors, ea.values.length, Math.min(k, ea.values.length));
  }
  return sum / matricesA.length;
}

/**
 * ‖V_aᵀ V_b‖_F² / k for the last k rows (largest eigenvalues) of two m x m row-major eigenvector
 * matrices: the mean squared cosine of the principal angles between the two subspaces.
 */
export function topSubspaceOverlap(vectorsA: Float64Array, vectorsB: Float64Array, m: number, k: number): number {
  let sum = 0;
  for (let i = m - k; i < m; i++) {
    const u = vectorsA.subarray(i * m, (i + 1) * m);
    for (let j = m - k; j < m; j++) {
      const v = vectorsB.subarray(j * m, (j + 1) * m);
      let dot = 0;
      for (let c = 0; c < m; c++) dot += u[c]! * v[c]!;
      sum += dot * dot;
    }
  }
  return sum / k;
}
