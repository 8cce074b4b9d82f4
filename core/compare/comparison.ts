/**
 * The Comparison: what changed between a base report and a head report, layer by layer, and the
 * verdict a policy gives. Plain data (JSON-serialisable), consumed by the renderers and front ends.
 */
import type { LayerRecord, SkippedRecord, SourceIdentity } from "../report.js";
import type { MatchKind } from "./match.js";
import type { Policy, Severity } from "./policy.js";

export const COMPARISON_SCHEMA_VERSION = 1;

/** Metrics whose change is reported for every matched layer (weightwatcher column names). */
export const DELTA_METRICS = [
  "alpha",
  "alpha_weighted",
  "D",
  "log_spectral_norm",
  "log_norm",
  "stable_rank",
  "num_pl_spikes",
  "rand_num_spikes",
] as const;
export type DeltaMetric = (typeof DELTA_METRICS)[number];

export interface MetricChange {
  /** null: not available on that side (failed fit, or not measured). */
  base: number | null;
  head: number | null;
  /** head − base; null when either side is null. */
  delta: number | null;
}

export type RuleName =
  | "alpha_rise"
  | "alpha_range"
  | "correlation_trap"
  | "scale_collapse"
  | "fit_failed"
  | "mean_alpha_rise"
  | "structure";

/** One rule that fired, in words a user understands. */
export interface Finding {
  rule: RuleName;
  /** Severity after the deciding test: layers that do not decide only give "info". */
  severity: Severity;
  /** Layer name (head's name) or undefined for model-level findings. */
  layer?: string;
  message: string;
}

export type LayerVerdict = "pass" | "warn" | "fail";
export type Verdict = "pass" | "warn" | "fail";

export interface LayerComparison {
  /** Head's name (base's name when they differ is in base_name). */
  name: string;
  base_name: string;
  match: MatchKind;
  base_layer_id: number;
  head_layer_id: number;
  changes: Record<DeltaMetric, MetricChange>;
  /** sqrt(sigma_base² + sigma_head²); null when a side has no sigma. */
  sigma_combined: number | null;
  /** Alpha change in combined standard errors; null without sigma. */
  alpha_z: number | null;
  warnings_appeared: string[];
  warnings_gone: string[];
  reshaped: boolean;
  dtype_changed: boolean;
  /** False when its fit rests on fewer eigenvalues than policy.min_evals: reported, not deciding. */
  deciding: boolean;
  verdict: LayerVerdict;
  findings: Finding[];
  base: LayerRecord;
  head: LayerRecord;
}

export interface ComparisonSide {
  source: SourceIdentity;
  num_layers: number;
  /** The report's own summary mean alpha (all layers with a fit). */
  mean_alpha: number | null;
  /** Layers with rand_num_spikes > 0; null when randomize was not run on this side. */
  num_traps: number | null;
  skipped: SkippedRecord[];
}

export interface ComparisonSummary {
  matched: number;
  added: number;
  removed: number;
  /** Mean alpha over deciding matched layers with a fit on both sides (the like-for-like mean). */
  mean_alpha_base: number | null;
  mean_alpha_head: number | null;
  mean_alpha_delta: number | null;
  /** Combined standard error of that mean's change. */
  mean_alpha_sigma: number | null;
  layers_failed: number;
  layers_warned: number;
}

export interface Comparison {
  schemaVersion: typeof COMPARISON_SCHEMA_VERSION;
  verdict: Verdict;
  /** Why, in plain words, worst first; for pass, one sentence saying what was checked. */
  reasons: string[];
  policy: Policy;
  base: ComparisonSide;
  head: ComparisonSide;
  summary: ComparisonSummary;
  /** Matched layers in head order. */
  layers: LayerComparison[];
  added: LayerRecord[];
  removed: LayerRecord[];
  /** Every rule that fired, model-level first, then by layer; info findings included. */
  findings: Finding[];
}
