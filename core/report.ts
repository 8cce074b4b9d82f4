/**
 * The Report: the versioned JSON contract between core and every front end (CLI, Action, Worker).
 * Column names are weightwatcher's. A change to this shape bumps SCHEMA_VERSION and
 * docs/report.schema.json.
 */

export const SCHEMA_VERSION = 1;

/** How closely to follow weightwatcher 0.7.5.5: corrected behaviour (default) or its exact output. */
export type CompatMode = "default" | "ww" | "ww-file";

export interface AnalyzeOptions {
  /** Skip layers with fewer eigenvalues (M·rf when pooled). 0 disables the bound. Default 10. */
  min_evals: number;
  /** Skip layers with more eigenvalues (M·rf when pooled). 0 disables the bound. Default 15000. */
  max_evals: number;
  /** Skip layers whose larger dimension N exceeds this. Default 50000. */
  max_N: number;
  /** Eigenvalues below this count towards weak_rank_loss. Default 1e-6. */
  tolerance: number;
  /** Integer k: drop the k largest eigenvalues before fitting. null: fit up to λ_max. */
  xmax: number | null;
  /** Pool the kh·kw slices of a conv2d layer into one ESD (true) or report each slice (false). */
  pool: boolean;
  /** Scale conv2d slices by √(c/2) as weightwatcher does (halves pooled eigenvalues). */
  conv2d_norm: boolean;
  /** Layer selection: names, ids, type names; entries starting with `-` exclude. Empty: all. */
  layers: Array<string | number>;
  /** Corrected behaviour, or weightwatcher 0.7.5.5's dict route ("ww") or file route ("ww-file"). */
  compat: CompatMode;
}

export const DEFAULT_OPTIONS: Readonly<AnalyzeOptions> = Object.freeze({
  min_evals: 10,
  max_evals: 15000,
  max_N: 50000,
  tolerance: 1e-6,
  xmax: null,
  pool: true,
  conv2d_norm: true,
  layers: [],
  compat: "default",
});

export type LayerType = "dense" | "conv2d" | "conv1d" | "embedding";

/** One analyzed layer (or conv2d slice when pool is false), with weightwatcher's column names. */
export interface LayerRecord {
  layer_id: number;
  name: string;
  longname: string;
  layer_type: LayerType;
  /** Which rule set layer_type: tensor rank, container structure, tensor name, or user override. */
  type_rule: "rank" | "container" | "name";
  slice_id?: number;
  N: number;
  M: number;
  Q: number;
  rf: number;
  num_evals: number;
  has_esd: boolean;
  lambda_max: number;
  sv_max: number;
  sv_min: number;
  rank_loss: number;
  weak_rank_loss: number;
  matrix_rank: number;
  entropy: number;
  norm: number;
  log_norm: number;
  spectral_norm: number;
  log_spectral_norm: number;
  stable_rank: number;
  /** Power-law fit; null when the fit failed (weightwatcher's -1 sentinels in compat mode). */
  alpha: number | null;
  alpha_weighted: number | null;
  log_alpha_norm: number | null;
  D: number | null;
  sigma: number | null;
  xmin: number | null;
  xmax: number | null;
  num_pl_spikes: number | null;
  status: "success" | "failed";
  /** Why the fit failed (status "failed"), e.g. "fewer than 2 eigenvalues above 1e-05". */
  fit_failure?: string;
  /** "over-trained" (alpha < 2), "under-trained" (alpha > 6), "" or, by default, "fit-failed". */
  warning: string;
  /** Eigenvalues (ascending) when the caller asked for them. */
  evals?: number[];
  /** Storage dtype of the weight tensor as the container names it (F32, BF16, Q8_0...), when known. */
  dtype?: string;
  /** Randomize: eigenvalues (ascending) of the element-wise shuffled W, when asked for. */
  rand_evals?: number[];
  /** Randomize: largest eigenvalue of the shuffled W (weightwatcher's max_rand_eval). */
  max_rand_eval?: number | null;
  /** Randomize: spikes beyond the MP bulk of the shuffled W; > 0 is a correlation trap. Absent: not measured. */
  rand_num_spikes?: number | null;
}

export interface SkippedRecord {
  name: string;
  reason: string;
}

export interface Summary {
  /** Means over analyzed layers (default mode: alpha-derived means over successful fits only). */
  log_norm?: number;
  alpha?: number;
  alpha_weighted?: number;
  log_alpha_norm?: number;
  log_spectral_norm?: number;
  stable_rank?: number;
  /** Layers analyzed, and how many of them had a failed fit (excluded from alpha means by default). */
  num_layers: number;
  num_failed_fits: number;
}

export interface SourceIdentity {
  /** Path or URL as given. */
  path: string;
  /** Container format detected from the content. */
  format: string;
  size: number;
  sha256?: string;
  etag?: string;
  metadata: Record<string, string>;
}

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: "alphawatch"; version: string };
  options: AnalyzeOptions;
  source: SourceIdentity;
  layers: LayerRecord[];
  skipped: SkippedRecord[];
  summary: Summary;
  timings: { total_ms: number; read_ms: number; eigen_ms: number };
}
