/**
 * analyze(): a ByteSource in, a Report out. Orchestrates format detection, the layer plan, the
 * eigenvalue kernel and the metrics; every step is a pure function of the previous one's output.
 */
import type { ByteSource } from "./formats/byte-source.js";
import type { TensorIndex } from "./formats/tensor.js";
import { openTensorIndex } from "./formats/open.js";
import { Sha256 } from "./formats/sha256.js";
import { AlphawatchError, BudgetError, SourceError, UsageError, describeError } from "./errors.js";
import { planLayers, type LayerPlan, type PlannedLayer } from "./layers/plan.js";
import { heldMatrices, layerEigenvalues, NonFiniteWeightsError, RANDOMIZE_MAX_ELEMENTS, type StreamTimings } from "./layers/stream.js";
import { numComponents } from "./layers/plan.js";
import { MT19937 } from "./metrics/mt19937.js";
import { layerGenerator, randomizedSpectra, type RandomizedSpectra } from "./metrics/randomize.js";
import { layerVectorMetrics, type LayerVectorMetrics } from "./metrics/vectors.js";
import { layerRecord } from "./metrics/record.js";
import { summarize } from "./metrics/summary.js";
import type { SpectralKernel } from "./spectral/kernel.js";
import { DEFAULT_OPTIONS, SCHEMA_VERSION, type AnalyzeOptions, type LayerRecord, type Report, type SkippedRecord } from "./report.js";
import { resolveOptions } from "./options.js";
import { VERSION } from "./version.js";
import { layerMemoryNeed, overBudgetReason } from "./layers/memory-need.js";

export { DEFAULT_OPTIONS, planLayers, resolveOptions, summarize };
export type { LayerPlan, PlannedLayer };

/** Chunk size for hashing the source (bounded memory whatever the file size). */
export const HASH_CHUNK_BYTES = 1 << 20;

/** Result of analyzing one planned row: its record, or why it was skipped. */
export type LayerOutcome =
  | { kind: "record"; record: LayerRecord; timings: StreamTimings }
  | { kind: "skipped"; skipped: SkippedRecord; timings: StreamTimings };

export interface LayerHooks {
  /** Clock for timings (ms). Without it timings are 0. */
  now?: () => number;
  /** Keep the ESD in `record.evals`. */
  keepEvals?: boolean;
  /** Bytes a layer may use (kernel memory plus streaming buffers); a layer over it is skipped. */
  memoryBudget?: number;
}

/**
 * Why a layer is skipped after `error`: NaN/Inf weights, a tensor that cannot be read or decoded,
 * or kernel memory that could not grow. Other errors (a failing source, bad usage) are rethrown:
 * they concern the whole analysis, not this layer.
 */
function layerSkipReason(error: unknown, kernel: SpectralKernel, layer: PlannedLayer): string {
  if (error instanceof RangeError && /memory/i.test(error.message)) {
    const need = layerMemoryNeed(kernel, layer);
    return `the eigenvalue kernel could not allocate ${(need.kernelBytes / 2 ** 20).toFixed(1)} MiB for this layer (${error.message}); the layer is not analyzed`;
  }
  if (error instanceof NonFiniteWeightsError || (error instanceof AlphawatchError && !(error instanceof SourceError) && !(error instanceof UsageError))) {
    return describeError(error);
  }
  throw error;
}

/**
 * Reads one planned layer (or conv2d slice) into the kernel and computes its row. A layer whose
 * weights contain NaN/Inf, or whose tensor cannot be read or decoded, is skipped with the reason;
 * other errors (a failing source, a kernel fault) propagate.
 */
export async function analyzeLayer(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  options: AnalyzeOptions,
  hooks: LayerHooks = {},
): Promise<LayerOutcome> {
  const timings: StreamTimings = { read_ms: 0, eigen_ms: 0 };
  if (hooks.memoryBudget !== undefined) {
    const reason = overBudgetReason(layerMemoryNeed(kernel, layer, options.vectors), hooks.memoryBudget);
    if (reason !== undefined) return { kind: "skipped", skipped: { name: layer.tensor.name, reason }, timings };
  }
  let evals: Float64Array[];
  try {
    const result = await layerEigenvalues(kernel, layer, hooks.now === undefined ? {} : { now: hooks.now });
    evals = result.evals;
    Object.assign(timings, result.timings);
  } catch (error) {
    return { kind: "skipped", skipped: { name: layer.tensor.name, reason: layerSkipReason(error, kernel, layer) }, timings };
  }
  let randomized: RandomizedSpectra | undefined;
  if (options.randomize) {
    try {
      const matrices = await heldMatrices(layer);
      const rng = layer.rngState !== undefined
        ? MT19937.fromState(layer.rngState)
        : layerGenerator(options.seed, layer.layer_id, layer.slice_id ?? 0);
      const t0 = hooks.now?.() ?? 0;
      randomized = randomizedSpectra(kernel, matrices, numComponents(layer), rng);
      timings.eigen_ms += (hooks.now?.() ?? 0) - t0;
    } catch (error) {
      return { kind: "skipped", skipped: { name: layer.tensor.name, reason: layerSkipReason(error, kernel, layer) }, timings };
    }
  }
  let vectors: LayerVectorMetrics | undefined;
  if (options.vectors) {
    try {
      vectors = await eigenvectorMetrics(kernel, layer, hooks.now ?? (() => 0), timings);
    } catch (error) {
      return { kind: "skipped", skipped: { name: layer.tensor.name, reason: layerSkipReason(error, kernel, layer) }, timings };
    }
  }
  const extras = { ...(randomized === undefined ? {} : { randomized }), ...(vectors === undefined ? {} : { vectors }) };
  const record = layerRecord(layer, evals, options, hooks.keepEvals ?? false, extras);
  // The stored dtype lets a comparison call out a change of precision (F32 → Q8_0, BF16 …).
  record.dtype = layer.tensor.dtype;
  return { kind: "record", record, timings };
}

/** vectors (spec §9): the layer's matrices whole in memory, then the kernel's eigenvector path. */
async function eigenvectorMetrics(kernel: SpectralKernel, layer: PlannedLayer, now: () => number, timings: StreamTimings): Promise<LayerVectorMetrics> {
  const elements = layer.tensor.shape.reduce((a, b) => a * b, 1);
  if (elements > RANDOMIZE_MAX_ELEMENTS) {
    throw new BudgetError(`${layer.tensor.name}: vectors holds whole matrices in memory; ${elements} elements exceed the ${RANDOMIZE_MAX_ELEMENTS}-element limit`);
  }
  const t0 = now();
  const matrices = await heldMatrices(layer);
  const t1 = now();
  const metrics = layerVectorMetrics(kernel, matrices);
  timings.read_ms += t1 - t0;
  timings.eigen_ms += now() - t1;
  return metrics;
}

export interface AnalyzeDeps {
  kernel: SpectralKernel;
  /** Format detection and header parsing; openTensorIndex by default. */
  openIndex?: (source: ByteSource) => Promise<TensorIndex>;
  /**
   * Runs one planned layer, e.g. in a worker thread. When given, analyze() starts every planned
   * layer at once and the runner decides how many run concurrently; without it layers run one
   * after the other in this thread with `analyzeLayer`.
   */
  runLayer?: (layer: PlannedLayer, options: AnalyzeOptions) => Promise<LayerOutcome>;
  /** Called after each planned layer (or conv2d slice) finishes. */
  onProgress?: (done: number, total: number, name: string) => void;
  /** Clock in milliseconds (performance.now in front ends). Without it timings are 0. */
  now?: () => number;
  /** Hash the whole source with SHA-256 when it has no etag (default true). */
  hashSource?: boolean;
  /** Keep every layer's ESD in `record.evals`. */
  keepEvals?: boolean;
  /** Bytes one layer may use; larger layers are skipped with their need as the reason. */
  memoryBudget?: number;
}

export async function analyze(
  source: ByteSource,
  options: Partial<AnalyzeOptions>,
  deps: AnalyzeDeps,
): Promise<Report> {
  const now = deps.now ?? (() => 0);
  const start = now();
  const resolved = resolveOptions(options);
  const index = await (deps.openIndex ?? openTensorIndex)(source);
  const size = await source.size();
  const plan = planLayers(index, resolved);

  const total = plan.layers.length;
  let done = 0;
  const finish = (layer: PlannedLayer, outcome: LayerOutcome): LayerOutcome => {
    done++;
    deps.onProgress?.(done, total, layer.slice_id === undefined ? layer.name : `${layer.name}#${layer.slice_id}`);
    return outcome;
  };
  let outcomes: LayerOutcome[];
  if (deps.runLayer !== undefined) {
    const run = deps.runLayer;
    outcomes = await Promise.all(plan.layers.map(async (layer) => finish(layer, await run(layer, resolved))));
  } else {
    outcomes = [];
    const hooks: LayerHooks = { now, keepEvals: deps.keepEvals ?? false };
    if (deps.memoryBudget !== undefined) hooks.memoryBudget = deps.memoryBudget;
    for (const layer of plan.layers) outcomes.push(finish(layer, await analyzeLayer(deps.kernel, layer, resolved, hooks)));
  }

  const layers: LayerRecord[] = [];
  const skipped: SkippedRecord[] = [...plan.skipped];
  const seenSkips = new Set<string>();
  let readMs = 0;
  let eigenMs = 0;
  for (const outcome of outcomes) {
    readMs += outcome.timings.read_ms;
    eigenMs += outcome.timings.eigen_ms;
    if (outcome.kind === "record") {
      layers.push(outcome.record);
    } else {
      // The slices of one conv2d layer share a tensor and so a reason: report it once.
      const key = `${outcome.skipped.name}\u0000${outcome.skipped.reason}`;
      if (!seenSkips.has(key)) skipped.push(outcome.skipped);
      seenSkips.add(key);
    }
  }
  const identity: Report["source"] = { path: source.name, format: index.format, size, metadata: { ...index.metadata } };
  if (source.etag !== undefined) identity.etag = source.etag;
  else if (deps.hashSource ?? true) identity.sha256 = await sha256OfSource(source, size);

  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "alphawatch", version: VERSION },
    options: resolved,
    source: identity,
    layers,
    skipped,
    summary: summarize(layers, resolved),
    timings: { total_ms: now() - start, read_ms: readMs, eigen_ms: eigenMs },
  };
}

/** SHA-256 of the whole source, read in bounded chunks. */
export async function sha256OfSource(source: ByteSource, size?: number): Promise<string> {
  const length = size ?? (await source.size());
  const hash = new Sha256();
  // One reusable buffer when the source can fill it: hashing a large file then leaves no garbage.
  const buffer = source.readInto === undefined ? undefined : new Uint8Array(Math.min(HASH_CHUNK_BYTES, length));
  for (let offset = 0; offset < length; offset += HASH_CHUNK_BYTES) {
    const count = Math.min(HASH_CHUNK_BYTES, length - offset);
    if (buffer !== undefined && source.readInto !== undefined) {
      const chunk = buffer.subarray(0, count);
      await source.readInto(offset, chunk);
      hash.update(chunk);
    } else {
      hash.update(await source.read(offset, count));
    }
  }
  return hash.hex();
}

