/**
 * analyze(): a ByteSource in, a Report out. Orchestrates format detection, the layer plan, the
 * eigenvalue kernel and the metrics; every step is a pure function of the previous one's output.
 */
import type { ByteSource } from "./formats/byte-source.js";
import type { TensorIndex } from "./formats/tensor.js";
import { openTensorIndex } from "./formats/open.js";
import { Sha256 } from "./formats/sha256.js";
import { AlphawatchError, SourceError, UsageError, describeError } from "./errors.js";
import { planLayers, type LayerPlan, type PlannedLayer } from "./layers/plan.js";
import { layerEigenvalues, NonFiniteWeightsError, type StreamTimings } from "./layers/stream.js";
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

export { DEFAULT_OPTIONS, planLayers, summarize };
export type { LayerPlan, PlannedLayer };

const COMPAT_MODES: readonly CompatMode[] = ["default", "ww", "ww-file"];

/** Chunk size for hashing the source (bounded memory whatever the file size). */
export const HASH_CHUNK_BYTES = 4 << 20;

/**
 * DEFAULT_OPTIONS overlaid with `options`, validated. Throws UsageError naming the option.
 * In the weightwatcher modes the combinations weightwatcher refuses ("params not valid", §2.4)
 * are refused too; by default each bound is checked on its own (§15.34).
 */
export function resolveOptions(options: Partial<AnalyzeOptions> = {}): AnalyzeOptions {
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
  if (merged.xmax !== null && (typeof merged.xmax !== "number" || !Number.isInteger(merged.xmax) || merged.xmax === 0)) {
    throw new UsageError(`option xmax: ${JSON.stringify(merged.xmax)} is not null or a non-zero integer (the number of largest eigenvalues to leave out of the fit)`);
  }
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
  let evals: Float64Array[];
  try {
    const result = await layerEigenvalues(kernel, layer, hooks.now === undefined ? {} : { now: hooks.now });
    evals = result.evals;
    Object.assign(timings, result.timings);
  } catch (error) {
    if (error instanceof NonFiniteWeightsError || (error instanceof AlphawatchError && !(error instanceof SourceError) && !(error instanceof UsageError))) {
      return { kind: "skipped", skipped: { name: layer.tensor.name, reason: describeError(error) }, timings };
    }
    throw error;
  }
  const record = layerRecord(layer, evals, options, hooks.keepEvals ?? false);
  return { kind: "record", record, timings };
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
  for (let offset = 0; offset < length; offset += HASH_CHUNK_BYTES) {
    hash.update(await source.read(offset, Math.min(HASH_CHUNK_BYTES, length - offset)));
  }
  return hash.hex();
}

