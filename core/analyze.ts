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
import {
  DEFAULT_OPTIONS,
  SCHEMA_VERSION,
  type AnalyzeOptions,
  type CompatMode,
  type LayerRecord,
  type Report,
  type SkippedRecord,
} from "./report.js";
import { VERSION } from "./version.js";
import { layerMemoryNeed, overBudgetReason } from "./layers/memory-need.js";

export { DEFAULT_OPTIONS, planLayers, summarize };
export type { LayerPlan, PlannedLayer };

const COMPAT_MODES: readonly CompatMode[] = ["default", "ww", "ww-file"];

/** Chunk size for hashing the source (bounded memory whatever the file size). */
export const HASH_CHUNK_BYTES = 1 << 20;

/**
 * DEFAULT_OPTIONS overlaid with `options`, validated. Throws UsageError naming the option.
 * In the weightwatcher modes the combinations weightwatcher refuses ("params not valid", §2.4)
 * are refused too; by default each bound is checked on its own (§15.34).
 */
export function resolveOptions(options: Partial<AnalyzeOptions> = {}): AnalyzeOptions {
  options = refuseUnsupported(options);
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_OPTIONS)) {
      throw new UsageError(`unknown option "${key}" (known: ${Object.keys(DEFAULT_OPTIONS).join(", ")})`);
    }
  }
  if (options.layers !== undefined && !Array.isArray(options.layers)) {
    throw new UsageError(`option layers: ${JSON.stringify(options.layers)} is not a list of names, ids or types`);
  }
  const merged: AnalyzeOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(options), layers: [...(options.layers ?? DEFAULT_OPTIONS.layers)] };
  if (!COMPAT_MODES.includes(merged.compat)) {
    throw new UsageError(`option compat: ${JSON.stringify(merged.compat)} is not one of ${COMPAT_MODES.join(", ")}`);
  }
  const compat = merged.compat !== "default";
  for (const key of ["min_evals", "max_evals", "max_N"] as const) {
    const value = merged[key];
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new UsageError(`option ${key}: ${JSON.stringify(value)} is not an integer`);
    }
    if (!compat && value < 0) throw new UsageError(`option ${key}: ${value} is negative (0 disables the bound)`);
  }
  const { min_evals, max_evals, max_N } = merged;
  if (compat) {
    if (min_evals && max_evals && min_evals >= max_evals) {
      throw new UsageError(`option min_evals: ${min_evals} is not below max_evals ${max_evals} (weightwatcher: params not valid)`);
    }
    if (max_evals < -1) throw new UsageError(`option max_evals: ${max_evals} is below -1 (weightwatcher: params not valid)`);
    if (max_N < max_evals) {
      throw new UsageError(`option max_N: ${max_N} is below max_evals ${max_evals} (weightwatcher: params not valid; the default mode accepts it)`);
    }
    if (max_N < min_evals) throw new UsageError(`option max_N: ${max_N} is below min_evals ${min_evals} (weightwatcher: params not valid)`);
  } else if (min_evals && max_evals && min_evals > max_evals) {
    throw new UsageError(`option min_evals: ${min_evals} is above max_evals ${max_evals}; no layer could be analyzed`);
  }
  if (typeof merged.tolerance !== "number" || !Number.isFinite(merged.tolerance) || merged.tolerance < 0) {
    throw new UsageError(`option tolerance: ${JSON.stringify(merged.tolerance)} is not a finite number >= 0`);
  }
  if (merged.xmax !== null && merged.xmax !== "force" && (typeof merged.xmax !== "number" || !Number.isInteger(merged.xmax) || merged.xmax === 0)) {
    throw new UsageError(`option xmax: ${JSON.stringify(merged.xmax)} is not null, "force" or a non-zero integer (the number of largest eigenvalues to leave out of the fit)`);
  }
  validateFitOptions(merged, compat);
  validateAnalysisOptions(merged, compat);
  for (const key of ["pool", "conv2d_norm"] as const) {
    if (typeof merged[key] !== "boolean") throw new UsageError(`option ${key}: ${JSON.stringify(merged[key])} is not true or false`);
  }
  for (const entry of merged.layers) {
    if (typeof entry === "number" ? !Number.isInteger(entry) : typeof entry !== "string") {
      throw new UsageError(`option layers: ${JSON.stringify(entry)} is not a layer name, type or integer id`);
    }
  }
  if (compat) {
    const ids = merged.layers.filter((e): e is number => typeof e === "number");
    if (ids.some((id) => id < 0) && ids.some((id) => id >= 0)) {
      throw new UsageError(`option layers: positive and negative ids mixed (weightwatcher: params not valid)`);
    }
  }
  return merged;
}

const FIT_ALIASES: Readonly<Record<string, AnalyzeOptions["fit"]>> = {
  PL: "PL", power_law: "PL", TPL: "TPL", truncated_power_law: "TPL", E_TPL: "E_TPL",
};

/**
 * fit, pl_package, xmin_max, fit_diagnostics, min_reliable_evals (normalizes fit's long names).
 * weightwatcher accepts TPL, E_TPL and xmax='force' only with pl_package='powerlaw' ("params not
 * valid", §2.4); the compat modes refuse the same, the default mode runs them (§10.8, §15.35).
 */
function validateFitOptions(merged: AnalyzeOptions, compat: boolean): void {
  const fit = FIT_ALIASES[merged.fit as string];
  if (fit === undefined) throw new UsageError(`option fit: ${JSON.stringify(merged.fit)} is not one of PL, TPL, E_TPL (or power_law, truncated_power_law)`);
  merged.fit = fit;
  if (merged.pl_package !== "ww" && merged.pl_package !== "powerlaw") {
    throw new UsageError(`option pl_package: ${JSON.stringify(merged.pl_package)} is not "ww" or "powerlaw"`);
  }
  if (compat && merged.pl_package === "ww" && merged.fit !== "PL") {
    throw new UsageError(`option fit: ${merged.fit} needs pl_package "powerlaw" in weightwatcher-compatible mode (weightwatcher: params not valid; the default mode accepts it)`);
  }
  if (compat && merged.pl_package === "ww" && merged.xmax === "force") {
    throw new UsageError(`option xmax: "force" needs pl_package "powerlaw" in weightwatcher-compatible mode (weightwatcher: params not valid; the default mode accepts it)`);
  }
  if (merged.fit === "E_TPL" && merged.fix_fingers === "clip_xmax") {
    throw new UsageError(`option fit: E_TPL searches xmin near the ESD peak (fix_fingers xmin_peak) and cannot be combined with fix_fingers clip_xmax`);
  }
  if (merged.xmin_max !== null && !(typeof merged.xmin_max === "number" && Number.isFinite(merged.xmin_max) && merged.xmin_max > 0)) {
    throw new UsageError(`option xmin_max: ${JSON.stringify(merged.xmin_max)} is not null or a positive number (an eigenvalue)`);
  }
  if (typeof merged.fit_diagnostics !== "boolean") {
    throw new UsageError(`option fit_diagnostics: ${JSON.stringify(merged.fit_diagnostics)} is not true or false`);
  }
  const minReliable = merged.min_reliable_evals;
  if (typeof minReliable !== "number" || !Number.isInteger(minReliable) || minReliable < 0) {
    throw new UsageError(`option min_reliable_evals: ${JSON.stringify(minReliable)} is not a non-negative integer`);
  }
}

/**
 * weightwatcher options alphawatch refuses in every mode (spec §10.8), with the reason. A falsy
 * value (the option turned off) is accepted and dropped.
 */
export const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  add_biases: "add_biases is not supported: weightwatcher 0.7.5.5 has no such analyze() argument and never combines biases with the weights",
  fft: "fft is not supported: weightwatcher 0.7.5.5 crashes on it (a misspelt attribute) and its authors call it probably not useful",
  conv2d_fft: "conv2d_fft is not supported: it is deprecated in weightwatcher, whose 0.7.5.5 crashes on every conv2d layer with it",
  stacked: "stacked is not supported: an experimental weightwatcher option that crashes on some models (no layer to stack, a zero-MAD column)",
  intra: "intra is not supported: an experimental weightwatcher option whose layer pairing silently drops most layers",
};

function refuseUnsupported(options: Partial<AnalyzeOptions>): Partial<AnalyzeOptions> {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const reason = REFUSED_OPTIONS[key];
    if (reason === undefined) rest[key] = value;
    else if (value !== undefined && value !== false && value !== null) throw new UsageError(`option ${reason}`);
  }
  return rest as Partial<AnalyzeOptions>;
}

/**
 * randomize, seed, mp_fit, fix_fingers, max_fingers, finger_thresh, detX, inverse, glorot_fix,
 * channels, start_ids, svd_method, ww2x (turned into pool false). Each is checked on its own;
 * weightwatcher's refusal of an integer xmax with fix_fingers (§2.4) holds in every mode (the two
 * ask for contradictory clipping).
 */
function validateAnalysisOptions(merged: AnalyzeOptions, compat: boolean): void {
  for (const key of ["randomize", "mp_fit", "detX", "inverse", "glorot_fix", "ww2x", "vectors"] as const) {
    if (typeof merged[key] !== "boolean") throw new UsageError(`option ${key}: ${JSON.stringify(merged[key])} is not true or false`);
  }
  // weightwatcher refuses the pair ("params not valid"): eigenvectors of 1/λ are those of λ, so
  // the localization columns would describe the uninverted spectrum's split (spec §2.4, §15.10).
  if (merged.inverse && merged.vectors) throw new UsageError("options inverse and vectors cannot be combined (the eigenvector split follows the uninverted fit)");
  if (!Number.isInteger(merged.seed) || merged.seed < 0 || merged.seed > 0xffffffff) {
    throw new UsageError(`option seed: ${JSON.stringify(merged.seed)} is not an integer from 0 to 4294967295`);
  }
  if (merged.fix_fingers !== false && merged.fix_fingers !== "clip_xmax" && merged.fix_fingers !== "xmin_peak") {
    throw new UsageError(`option fix_fingers: ${JSON.stringify(merged.fix_fingers)} is not false, "clip_xmax" or "xmin_peak"`);
  }
  if (merged.fix_fingers !== false && typeof merged.xmax === "number") {
    throw new UsageError(`option xmax: an integer xmax (${merged.xmax}) cannot be combined with fix_fingers ${merged.fix_fingers}${compat ? " (weightwatcher: params not valid)" : ""}`);
  }
  if (!Number.isInteger(merged.max_fingers) || merged.max_fingers < 1) {
    throw new UsageError(`option max_fingers: ${JSON.stringify(merged.max_fingers)} is not an integer >= 1`);
  }
  if (typeof merged.finger_thresh !== "number" || !Number.isFinite(merged.finger_thresh) || merged.finger_thresh < 0) {
    throw new UsageError(`option finger_thresh: ${JSON.stringify(merged.finger_thresh)} is not a finite number >= 0`);
  }
  if (merged.channels !== null && merged.channels !== "first" && merged.channels !== "last") {
    throw new UsageError(`option channels: ${JSON.stringify(merged.channels)} is not null, "first" (kh, kw, in, out) or "last" (out, in, kh, kw)`);
  }
  if (!Number.isInteger(merged.start_ids) || merged.start_ids < 0) {
    throw new UsageError(`option start_ids: ${JSON.stringify(merged.start_ids)} is not an integer >= 0`);
  }
  if (merged.svd_method !== "fast" && merged.svd_method !== "accurate") {
    throw new UsageError(`option svd_method: ${JSON.stringify(merged.svd_method)} is not "fast" or "accurate"`);
  }
  // weightwatcher's deprecated ww2x is pool=False (§2.7, §15.30).
  if (merged.ww2x) merged.pool = false;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

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

