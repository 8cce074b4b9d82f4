/**
 * One number per checkpoint and metric, computed from the Report's per-layer records (not from
 * its summary, whose meaning depends on the analysis mode and may grow new fields).
 *
 * - ww_*: weightwatcher's get_summary(): the plain mean of the column over every analyzed layer,
 *   skipping only missing values (pandas' mean). With --compat ww / ww-file the records carry
 *   weightwatcher's −1 placeholders for failed fits and these are its exact figures; in the default
 *   mode failed fits have no alpha and drop out.
 * - reliable_*: the alpha-derived means over the "reliable" layers: fit succeeded and the layer's
 *   ESD has at least `min_fit_evals` eigenvalues (num_evals). The count is the layer's, not the
 *   fit's tail (num_pl_spikes): it is fixed by the layer's shape, so the same layers enter the mean
 *   in every checkpoint of a family, and it does not depend on the xmin the fit itself chose.
 * - sigma_weighted_alpha: inverse-variance weighted mean of alpha over every successful fit with a
 *   finite sigma > 0, weights 1/sigma². Noisy fits (few tail eigenvalues) weigh little without a cutoff.
 */
import type { LayerRecord, Report } from "../report.js";

/** Weightwatcher's README: a power-law fit needs at least 50 eigenvalues. */
export const DEFAULT_MIN_FIT_EVALS = 50;

export const WW_METRICS = [
  "ww_alpha",
  "ww_alpha_weighted",
  "ww_log_norm",
  "ww_log_spectral_norm",
  "ww_log_alpha_norm",
  "ww_stable_rank",
] as const;

export const RELIABLE_METRICS = ["reliable_alpha", "reliable_alpha_weighted", "reliable_log_alpha_norm"] as const;

export const SERIES_METRICS = [...RELIABLE_METRICS, "sigma_weighted_alpha", ...WW_METRICS] as const;

export type SeriesMetric = (typeof SERIES_METRICS)[number];

/** Ranking metric when the user names none: weightwatcher's premise (smaller alpha, better layer) on reliable fits. */
export const DEFAULT_RANKING_METRIC: SeriesMetric = "reliable_alpha";

export function isSeriesMetric(name: string): name is SeriesMetric {
  return (SERIES_METRICS as readonly string[]).includes(name);
}

export type CheckpointSummary = { [K in SeriesMetric]: number | null } & {
  num_layers: number;
  /** Layers that entered the reliable_* means. */
  num_reliable_layers: number;
  num_failed_fits: number;
};

/** The per-layer facts a series keeps for its plots and for the reader to check the reliable set. */
export interface SeriesLayer {
  name: string;
  num_evals: number;
  alpha: number | null;
  sigma: number | null;
  status: "success" | "failed";
  reliable: boolean;
}

export function isReliableLayer(layer: LayerRecord, minFitEvals: number): boolean {
  return layer.status === "success" && layer.alpha !== null && Number.isFinite(layer.alpha) && layer.num_evals >= minFitEvals;
}

function layerName(layer: LayerRecord): string {
  return layer.slice_id === undefined ? layer.name : `${layer.name}[${layer.slice_id}]`;
}

export function seriesLayers(report: Report, minFitEvals: number): SeriesLayer[] {
  return report.layers.map((layer) => ({
    name: layerName(layer),
    num_evals: layer.num_evals,
    alpha: layer.alpha,
    sigma: layer.sigma,
    status: layer.status,
    reliable: isReliableLayer(layer, minFitEvals),
  }));
}

/** pandas-style mean: missing values (null, NaN) skipped, everything else (−1 placeholders, ±∞) counted. */
function plainMean(values: ReadonlyArray<number | null>): number | null {
  let sum = 0;
  let count = 0;
  for (const value of values) {
    if (value === null || Number.isNaN(value)) continue;
    sum += value;
    count++;
  }
  return count === 0 ? null : sum / count;
}

function finiteMean(values: ReadonlyArray<number | null>): number | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return finite.length === 0 ? null : finite.reduce((a, b) => a + b, 0) / finite.length;
}

export function sigmaWeightedAlpha(layers: readonly LayerRecord[]): number | null {
  let weighted = 0;
  let weights = 0;
  for (const layer of layers) {
    if (layer.status !== "success" || layer.alpha === null || layer.sigma === null) continue;
    if (!Number.isFinite(layer.alpha) || !Number.isFinite(layer.sigma) || !(layer.sigma > 0)) continue;
    const weight = 1 / (layer.sigma * layer.sigma);
    weighted += weight * layer.alpha;
    weights += weight;
  }
  return weights > 0 ? weighted / weights : null;
}

export function checkpointSummary(report: Report, minFitEvals: number = DEFAULT_MIN_FIT_EVALS): CheckpointSummary {
  const layers = report.layers;
  const reliable = layers.filter((layer) => isReliableLayer(layer, minFitEvals));
  return {
    reliable_alpha: finiteMean(reliable.map((l) => l.alpha)),
    reliable_alpha_weighted: finiteMean(reliable.map((l) => l.alpha_weighted)),
    reliable_log_alpha_norm: finiteMean(reliable.map((l) => l.log_alpha_norm)),
    sigma_weighted_alpha: sigmaWeightedAlpha(layers),
    ww_alpha: plainMean(layers.map((l) => l.alpha)),
    ww_alpha_weighted: plainMean(layers.map((l) => l.alpha_weighted)),
    ww_log_norm: plainMean(layers.map((l) => l.log_norm)),
    ww_log_spectral_norm: plainMean(layers.map((l) => l.log_spectral_norm)),
    ww_log_alpha_norm: plainMean(layers.map((l) => l.log_alpha_norm)),
    ww_stable_rank: plainMean(layers.map((l) => l.stable_rank)),
    num_layers: layers.length,
    num_reliable_layers: reliable.length,
    num_failed_fits: layers.filter((l) => l.status === "failed").length,
  };
}
