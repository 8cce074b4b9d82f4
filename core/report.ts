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
  /**
   * Integer k: drop the k largest eigenvalues before fitting. null: fit up to λ_max. "force": the
   * powerlaw package's xmax = λ_max (its KS distance uses the CDF truncated there; spec §10).
   */
  xmax: number | "force" | null;
  /** Pool the kh·kw slices of a conv2d layer into one ESD (true) or report each slice (false). */
  pool: boolean;
  /** Scale conv2d slices by √(c/2) as weightwatcher does (halves pooled eigenvalues). */
  conv2d_norm: boolean;
  /** Layer selection: names, ids, type names; entries starting with `-` exclude. Empty: all. */
  layers: Array<string | number>;
  /** Corrected behaviour, or weightwatcher 0.7.5.5's dict route ("ww") or file route ("ww-file"). */
  compat: CompatMode;
  /** Shuffle each matrix's entries and compare the randomized ESD with the MP bulk (correlation traps, spec §4). */
  randomize: boolean;
  /** Seed of the MT19937 generator behind randomize (numpy's np.random.seed). Default 0. */
  seed: number;
  /** Fit the Marchenko-Pastur law to each ESD (spec §5). */
  mp_fit: boolean;
  /** Remove spurious large eigenvalues ("fingers") before the power-law fit (spec §6). */
  fix_fingers: false | "clip_xmax" | "xmin_peak";
  /** clip_xmax: most eigenvalues to remove. Default 10. */
  max_fingers: number;
  /** clip_xmax: a clipped fit is accepted when its alpha is this much below the unclipped one. Default 1. */
  finger_thresh: number;
  /** Count the top eigenvalues whose product (rescaled to mean 1) stays >= 1 (spec §8). */
  detX: boolean;
  /** Analyze 1/λ instead of λ (spec §10). */
  inverse: boolean;
  /** Scale each matrix by √((N+M)·rf/2), the inverse of the Glorot init scale (spec §10). */
  glorot_fix: boolean;
  /** Conv2d layout: null = as stored in PyTorch order; "last" = (out, in, kh, kw); "first" = (kh, kw, in, out). */
  channels: null | "first" | "last";
  /** weightwatcher's first layer id (only its module route uses it; see docs). Default 0. */
  start_ids: number;
  /** weightwatcher's SVD choice, accepted for compatibility: both give the same float64 eigenvalues. */
  svd_method: "fast" | "accurate";
  /** Deprecated weightwatcher alias of pool: false. */
  ww2x: boolean;
  /** Fitted family: power law, truncated power law (adds Lambda), or TPL with fix_fingers xmin_peak (spec §7). */
  fit: "PL" | "TPL" | "E_TPL";
  /** Fitter: weightwatcher's own ("ww") or the conventions of the powerlaw package 1.5 ("powerlaw"; spec §7.2). */
  pl_package: "ww" | "powerlaw";
  /** fix_fingers xmin_peak: upper bound of the xmin search, in eigenvalue units. null: 1.5·peak. */
  xmin_max: number | null;
  /** Add each layer's xmin candidates with their KS distances (record.fit_diagnostics). */
  fit_diagnostics: boolean;
  /** Fits on fewer eigenvalues are marked few_evals and left out of the summary's reliable means. Default 50. */
  min_reliable_evals: number;
  /** Eigenvector localization columns {bulk,tail}_{mean,var}_{vec_entropy,loc_ratio,part_ratio} (spec §9; needs the kernel's eigenvector path). */
  vectors: boolean;
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
  randomize: false,
  seed: 0,
  mp_fit: false,
  fix_fingers: false,
  max_fingers: 10,
  finger_thresh: 1.0,
  detX: false,
  inverse: false,
  glorot_fix: false,
  channels: null,
  start_ids: 0,
  svd_method: "fast",
  ww2x: false,
  fit: "PL",
  pl_package: "ww",
  xmin_max: null,
  fit_diagnostics: false,
  min_reliable_evals: 50,
  vectors: false,
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
  /** Randomize: eigenvalues (ascending) of the element-wise shuffled W (the replicated ESD of the MP fit), when asked for. */
  rand_evals?: number[];
  /** Randomize: the second, single-replica randomized ESD (rand_distance, ww_*), when eigenvalues are kept. */
  rand_evals_distance?: number[];
  /** Randomize: largest eigenvalue of the shuffled W (weightwatcher's max_rand_eval). */
  max_rand_eval?: number | null;
  /** Randomize: spikes beyond the MP bulk of the shuffled W; > 0 is a correlation trap. Absent: not measured. */
  rand_num_spikes?: number | null;
  /** Randomize: Jensen-Shannon distance between the sorted ESD and a second randomized ESD. */
  rand_distance?: number | null;
  /** Randomize: λ_max − largest eigenvalue of the second randomized ESD. */
  ww_maxdist?: number | null;
  /** Randomize: largest eigenvalue of the second randomized ESD over λ_max. */
  ww_softrank?: number | null;
  /** Randomize: MP fit of the randomized ESD (null: the fit failed; weightwatcher's −1 in compat mode). */
  rand_sigma_mp?: number | null;
  rand_mp_softrank?: number | null;
  rand_W_scale?: number | null;
  rand_bulk_max?: number | null;
  rand_bulk_min?: number | null;
  /** Randomize: the randomized eigenvalues beyond the MP bulk edge plus the Tracy-Widom margin (the traps), descending, in the ESD's units. */
  traps?: number[];
  /** MP fit (mp_fit): spikes beyond the bulk, σ, bulk edge over λ_max, rescaling and bulk edges. */
  num_spikes?: number | null;
  sigma_mp?: number | null;
  mp_softrank?: number | null;
  W_scale?: number | null;
  bulk_max?: number | null;
  bulk_min?: number | null;
  /** fix_fingers clip_xmax: eigenvalues removed from the top, and the alpha before removing them. */
  num_fingers?: number | null;
  raw_alpha?: number | null;
  /** detX: size of the tail whose rescaled product stays >= 1, and its smallest eigenvalue. */
  detX_num?: number;
  detX_val?: number;
  detX_val_unrescaled?: number;
  /** Truncated power law (fit TPL/E_TPL): the exponential cut-off Λ of x^(−α)·e^(−Λx). */
  Lambda?: number | null;
  /** TPL fits whose exponent sits on the boundary α → 1⁺ (α − 1 < 1e-3): Λ carries the shape, α means little. */
  fit_at_boundary?: boolean;
  /**
   * The fit rests on fewer than min_reliable_evals eigenvalues (those above 1e-5 given to the
   * fitter): too few for a trustworthy alpha. Such layers stay in weightwatcher's means and are
   * left out of the summary's reliable_* means.
   */
  few_evals?: boolean;
  /** With fit_diagnostics: every xmin candidate tried, its KS distance and alpha, and the chosen xmin. */
  fit_diagnostics?: FitDiagnostics;
  /**
   * vectors: mean and population variance of each eigenvector metric over the bulk (all but the
   * top num_pl_spikes eigenvectors of the pooled ESD) and the tail (those num_pl_spikes); null for
   * an empty group (a failed fit puts every vector in the tail, as weightwatcher does).
   */
  bulk_mean_vec_entropy?: number | null;
  bulk_var_vec_entropy?: number | null;
  bulk_mean_loc_ratio?: number | null;
  bulk_var_loc_ratio?: number | null;
  bulk_mean_part_ratio?: number | null;
  bulk_var_part_ratio?: number | null;
  tail_mean_vec_entropy?: number | null;
  tail_var_vec_entropy?: number | null;
  tail_mean_loc_ratio?: number | null;
  tail_var_loc_ratio?: number | null;
  tail_mean_part_ratio?: number | null;
  tail_var_part_ratio?: number | null;
}

export interface FitDiagnostics {
  /** Fitter that produced the candidates: "ww" or "powerlaw" (package conventions), and the family. */
  fitter: "ww" | "powerlaw";
  family: "PL" | "TPL";
  /** Candidate xmins, ascending; Ds[i] and alphas[i] belong to xmins[i] (Lambdas[i] for TPL). */
  xmins: number[];
  Ds: number[];
  alphas: number[];
  Lambdas?: number[];
  /** The chosen xmin (null when the fit failed). */
  xmin: number | null;
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
  /** Mean of mp_softrank over the layers that have one (mp_fit). */
  mp_softrank?: number;
  /**
   * Means over the reliable fits only: status success and at least min_reliable_evals eigenvalues
   * given to the fitter (layers marked few_evals are left out). Absent when no layer qualifies.
   */
  reliable_alpha?: number;
  reliable_alpha_weighted?: number;
  reliable_log_alpha_norm?: number;
  /** Layers behind the reliable means, and the threshold used. */
  num_reliable_layers?: number;
  min_reliable_evals?: number;
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
