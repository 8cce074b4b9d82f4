/**
 * analyzeSeries(): a family of analyzed checkpoints (Reports) plus optional labels in, the series
 * result out: per-checkpoint summaries, the ranking, and, with a target, how each summary metric
 * tracks it, per group and pooled, with the Simpson's-paradox check. Pure: no I/O.
 */
import { UsageError } from "../errors.js";
import type { Report } from "../report.js";
import {
  DEFAULT_MIN_FIT_EVALS,
  DEFAULT_RANKING_METRIC,
  SERIES_METRICS,
  checkpointSummary,
  isSeriesMetric,
  seriesLayers,
  type CheckpointSummary,
  type SeriesLayer,
  type SeriesMetric,
} from "./checkpoint-summary.js";
import { MIN_CHECKPOINTS, SIGNIFICANCE_LEVEL, metricAssociation, signed, type MetricAssociation, type TargetBetter } from "./metric-association.js";
import { NOISE_SE_MULTIPLE, assessNoise, type NoiseAssessment, type TargetKind } from "./noise.js";
import { EXACT_MAX_N } from "./rank-correlation.js";

export const SERIES_SCHEMA_VERSION = 1;

export interface SeriesInput {
  /** The checkpoint as the user named it. */
  file: string;
  report: Report;
  /** SHA-256 (hex) of the checkpoint's bytes, shown in the output. Defaults to report.source.sha256. */
  sha256?: string;
  /**
   * Content identity: checkpoints with equal identities are the same bytes and count once in
   * pooled figures. A kind prefix keeps identities of different kinds apart: `sha256:<hex>` from
   * a hash, `etag:<ETag>` from an object store that does not hash. Defaults to `sha256:<sha256>`
   * when the SHA-256 is known; without either, the checkpoint is never taken for another.
   */
  content_id?: string;
  target?: number | null;
  /** Test-set size behind this checkpoint's target. */
  test_size?: number | null;
  group?: string | null;
}

export interface SeriesTargetOptions {
  /** Name of the target (the labels column). */
  column: string;
  /** Whether a higher target is better (accuracy) or a lower one (loss, error). */
  better: TargetBetter;
  /** "proportion": a fraction of test samples (accuracy, error rate), so binomial noise applies. */
  kind: TargetKind;
  /** Test-set size for checkpoints whose input has none. */
  test_size?: number;
}

export interface SeriesOptions {
  min_fit_evals?: number;
  ranking_metric?: SeriesMetric;
  target?: SeriesTargetOptions;
  /** Name of the grouping (the labels column); groups come from each input's `group`. */
  group_column?: string;
}

export interface SeriesCheckpoint {
  file: string;
  sha256?: string;
  content_id?: string;
  group?: string;
  target?: number;
  test_size?: number;
  summary: CheckpointSummary;
  layers: SeriesLayer[];
}

export interface SetAnalysis {
  /** Checkpoints counted (identical files once). */
  n: number;
  files: string[];
  noise: NoiseAssessment;
  metrics: Record<SeriesMetric, MetricAssociation>;
  /** Best checkpoint by the ranking metric within this set. */
  best: string | null;
}

export interface SignFlip {
  metric: SeriesMetric;
  group: string;
  within: number;
  overall: number;
}

export interface SeriesResult {
  schemaVersion: typeof SERIES_SCHEMA_VERSION;
  settings: {
    min_fit_evals: number;
    ranking_metric: SeriesMetric;
    significance_level: number;
    exact_p_max_n: number;
    noise_se_multiple: number;
    min_checkpoints: number;
    target?: SeriesTargetOptions;
    group_column?: string;
  };
  checkpoints: SeriesCheckpoint[];
  /** Pooled over every checkpoint with a target (identical files once); empty without a target. */
  metrics: Partial<Record<SeriesMetric, MetricAssociation>>;
  /** Noise of the pooled target. */
  target_noise?: NoiseAssessment;
  ranking: { metric: SeriesMetric; order: string[]; best: string | null; unranked: string[] };
  groups?: { column: string; by_group: Record<string, SetAnalysis>; sign_flips: SignFlip[] };
  notes: string[];
}

export function analyzeSeries(inputs: readonly SeriesInput[], options: SeriesOptions = {}): SeriesResult {
  const minFitEvals = options.min_fit_evals ?? DEFAULT_MIN_FIT_EVALS;
  if (!Number.isInteger(minFitEvals) || minFitEvals < 0) throw new UsageError(`min_fit_evals: ${minFitEvals} is not an integer >= 0`);
  const rankingMetric = options.ranking_metric ?? DEFAULT_RANKING_METRIC;
  if (!isSeriesMetric(rankingMetric)) throw new UsageError(`metric "${String(rankingMetric)}" is not one of ${SERIES_METRICS.join(", ")}`);
  if (inputs.length === 0) throw new UsageError("series: no checkpoints given");
  const target = options.target;
  if (target?.test_size !== undefined && !(Number.isInteger(target.test_size) && target.test_size > 0)) {
    throw new UsageError(`test_size: ${target.test_size} is not a positive integer`);
  }
  const notes: string[] = [];

  const checkpoints: SeriesCheckpoint[] = inputs.map((input) => {
    const checkpoint: SeriesCheckpoint = {
      file: input.file,
      summary: checkpointSummary(input.report, minFitEvals),
      layers: seriesLayers(input.report, minFitEvals),
    };
    const sha256 = input.sha256 ?? input.report.source.sha256;
    if (sha256 !== undefined) checkpoint.sha256 = sha256;
    const contentId = input.content_id ?? (sha256 === undefined ? undefined : `sha256:${sha256}`);
    if (contentId !== undefined) checkpoint.content_id = contentId;
    if (input.group !== undefined && input.group !== null) checkpoint.group = input.group;
    if (target !== undefined && input.target !== undefined && input.target !== null && Number.isFinite(input.target)) {
      checkpoint.target = input.target;
      const testSize = input.test_size ?? target.test_size;
      if (testSize !== undefined && testSize !== null) checkpoint.test_size = testSize;
    }
    return checkpoint;
  });
  const files = new Set<string>();
  for (const c of checkpoints) {
    if (files.has(c.file)) throw new UsageError(`series: ${c.file} is given twice`);
    files.add(c.file);
  }
  for (const c of checkpoints) {
    if (c.summary.num_reliable_layers === 0) {
      notes.push(`${c.file}: no layer has a successful fit on at least ${minFitEvals} eigenvalues, so its reliable_* metrics are empty`);
    }
  }

  const ranking = rank(checkpoints, rankingMetric);
  if (ranking.best !== null) notes.push(`best by ${rankingMetric} (smaller is better): ${ranking.best}`);
  for (const file of ranking.unranked) notes.push(`${file}: no value of ${rankingMetric}, left out of the ranking`);

  const result: SeriesResult = {
    schemaVersion: SERIES_SCHEMA_VERSION,
    settings: {
      min_fit_evals: minFitEvals,
      ranking_metric: rankingMetric,
      significance_level: SIGNIFICANCE_LEVEL,
      exact_p_max_n: EXACT_MAX_N,
      noise_se_multiple: NOISE_SE_MULTIPLE,
      min_checkpoints: MIN_CHECKPOINTS,
    },
    checkpoints,
    metrics: {},
    ranking,
    notes,
  };
  if (target === undefined) return result;
  result.settings.target = target;

  const labelled = checkpoints.filter((c) => c.target !== undefined);
  for (const c of checkpoints) if (c.target === undefined) notes.push(`${c.file}: no ${target.column} value, left out of the correlations`);
  const pooled = distinctByContent(labelled, notes);
  const overall = analyzeSet(pooled, target, rankingMetric);
  result.metrics = overall.metrics;
  result.target_noise = overall.noise;
  if (overall.noise.within_noise) notes.push(`all checkpoints: ${overall.noise.explanation}; no conclusion is drawn`);

  if (options.group_column !== undefined) {
    result.settings.group_column = options.group_column;
    const byGroup: Record<string, SetAnalysis> = {};
    const names = [...new Set(labelled.map((c) => c.group ?? ""))];
    for (const name of names) {
      const members = distinctByContent(labelled.filter((c) => (c.group ?? "") === name), []);
      const analysis = analyzeSet(members, target, rankingMetric);
      byGroup[name] = analysis;
      if (analysis.noise.within_noise) notes.push(`group ${displayGroup(name)}: ${analysis.noise.explanation}; no conclusion is drawn for it`);
    }
    const signFlips = findSignFlips(overall, byGroup);
    for (const flip of signFlips) {
      notes.push(
        `warning: Simpson's paradox in ${flip.metric}: within group ${displayGroup(flip.group)} Spearman is ${signed(flip.within)}, ` +
          `but over all groups pooled it is ${signed(flip.overall)}; the pooled figure hides opposite trends`,
      );
    }
    result.groups = { column: options.group_column, by_group: byGroup, sign_flips: signFlips };
  }
  return result;
}

function displayGroup(name: string): string {
  return name === "" ? "(no group)" : `"${name}"`;
}

/** Checkpoints in ascending order of the metric (smaller is better); ties keep the given order. */
function rank(checkpoints: readonly SeriesCheckpoint[], metric: SeriesMetric): SeriesResult["ranking"] {
  const ranked = checkpoints.filter((c) => metricValue(c, metric) !== null);
  const order = [...ranked].sort((a, b) => metricValue(a, metric)! - metricValue(b, metric)!).map((c) => c.file);
  const unranked = checkpoints.filter((c) => metricValue(c, metric) === null).map((c) => c.file);
  return { metric, order, best: order[0] ?? null, unranked };
}

function metricValue(c: SeriesCheckpoint, metric: SeriesMetric): number | null {
  const value = c.summary[metric];
  return value !== null && Number.isFinite(value) ? value : null;
}

/** Identical content (same content_id) counts once: the first occurrence stays. */
function distinctByContent(checkpoints: readonly SeriesCheckpoint[], notes: string[]): SeriesCheckpoint[] {
  const firstById = new Map<string, SeriesCheckpoint>();
  const kept: SeriesCheckpoint[] = [];
  for (const c of checkpoints) {
    if (c.content_id === undefined) {
      kept.push(c);
      continue;
    }
    const first = firstById.get(c.content_id);
    if (first === undefined) {
      firstById.set(c.content_id, c);
      kept.push(c);
      continue;
    }
    const disagree = first.target !== c.target ? ` (their targets differ: ${first.target} and ${c.target}; the first is used)` : "";
    notes.push(`${c.file} has the same content as ${first.file}: counted once in pooled figures${disagree}`);
  }
  return kept;
}

function analyzeSet(members: readonly SeriesCheckpoint[], target: SeriesTargetOptions, rankingMetric: SeriesMetric): SetAnalysis {
  const targets = members.map((c) => c.target!);
  const noise = assessNoise({ targets, test_sizes: members.map((c) => c.test_size ?? null), kind: target.kind });
  const metrics = {} as Record<SeriesMetric, MetricAssociation>;
  for (const metric of SERIES_METRICS) {
    metrics[metric] = metricAssociation(members.map((c) => ({ metric: metricValue(c, metric), target: c.target! })), target.better, noise);
  }
  return { n: members.length, files: members.map((c) => c.file), noise, metrics, best: rank(members, rankingMetric).best };
}

/**
 * Simpson's paradox check: a metric whose Spearman sign within a group is opposite to its sign over
 * all groups pooled. Groups (and a pool) whose target is within noise do not count; zero correlations
 * have no sign.
 */
function findSignFlips(overall: SetAnalysis, groups: Record<string, SetAnalysis>): SignFlip[] {
  if (overall.noise.within_noise) return [];
  const flips: SignFlip[] = [];
  for (const metric of SERIES_METRICS) {
    const pooled = overall.metrics[metric].spearman;
    if (pooled === null || pooled === 0) continue;
    for (const [group, analysis] of Object.entries(groups)) {
      if (analysis.noise.within_noise) continue;
      const within = analysis.metrics[metric].spearman;
      if (within === null || within === 0) continue;
      if (Math.sign(within) !== Math.sign(pooled)) flips.push({ metric, group, within, overall: pooled });
    }
  }
  return flips;
}
