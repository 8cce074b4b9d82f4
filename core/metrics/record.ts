/**
 * One layer row (weightwatcher's columns) from the eigenvalues of the layer's matrices and the
 * facts of its plan. Pure: no I/O, no kernel.
 */
import type { AnalyzeOptions, LayerRecord, LayerType } from "../report.js";
import { alphaWeighted, logAlphaNorm, normColumns } from "./columns.js";
import { FIT_THRESHOLD, fitPowerLaw, trainingWarning, type PowerLawFit } from "./powerlaw.js";
import { poolSpectrum } from "./spectrum.js";
import { fitWithoutFingers } from "./fingers.js";
import { applyGlorot, glorotFactor, invertSpectrum, optionColumns } from "./option-columns.js";
import type { RandomizedSpectra } from "./randomize.js";
import { vectorColumns, type LayerVectorMetrics } from "./vectors.js";

/** The options of weightwatcher's analysis that add columns or transform the ESD (option-columns.ts). */
export type OptionChoice = Pick<AnalyzeOptions, "randomize" | "mp_fit" | "detX" | "inverse" | "glorot_fix" | "max_fingers" | "finger_thresh">;

/** What a row needs besides its own eigenvalues: the randomized ESDs when randomize is on, the eigenvector metrics when vectors is. */
export interface RecordExtras {
  randomized?: RandomizedSpectra;
  vectors?: LayerVectorMetrics;
}

/** What a row needs to know about its layer besides the eigenvalues. */
export interface LayerFacts {
  layer_id: number;
  name: string;
  longname: string;
  layer_type: LayerType;
  type_rule: LayerRecord["type_rule"];
  slice_id?: number;
  /** N and M as reported. */
  N: number;
  M: number;
  rf: number;
  /** Gram dimension of each matrix (the smaller side). */
  cols: number;
}

/** The fit options a row depends on beyond tolerance, xmax and compat. */
export type FitChoice = Pick<AnalyzeOptions, "fit" | "pl_package" | "fix_fingers" | "xmin_max" | "fit_diagnostics" | "min_reliable_evals">;

/** Default of min_reliable_evals: the size weightwatcher's README asks of a power-law fit. */
export const DEFAULT_MIN_RELIABLE_EVALS = 50;

/** A TPL exponent this close to 1 sits on the boundary of the valid region (spec §7.2, §15.48). */
export const TPL_BOUNDARY = 1e-3;

function countAbove(values: Float64Array, threshold: number): number {
  let count = 0;
  for (const value of values) if (value > threshold) count++;
  return count;
}

/** weightwatcher's "not computed / failed" marker for fit columns. */
export const WW_SENTINEL = -1;

/** The warning of a failed fit in the default mode (weightwatcher says 'over-trained', §15.2). */
export const FIT_FAILED_WARNING = "fit-failed";

export function layerRecord(
  facts: LayerFacts,
  perMatrixEvals: readonly Float64Array[],
  options: Pick<AnalyzeOptions, "tolerance" | "xmax" | "compat"> & Partial<FitChoice> & Partial<OptionChoice>,
  keepEvals = false,
  extras: RecordExtras = {},
): LayerRecord {
  const compat = options.compat !== "default";
  // glorot_fix scales W (weightwatcher ignores it, §15.3); inverse analyzes 1/λ but keeps W's σ's.
  const glorot = options.glorot_fix === true && !compat ? glorotFactor(facts.N, facts.M, facts.rf) : 1;
  const matrices = glorot === 1 ? perMatrixEvals : applyGlorot(perMatrixEvals, glorot);
  let spectrum = poolSpectrum(matrices, facts.cols);
  let norms = normColumns(spectrum, { tolerance: options.tolerance, compat });
  if (options.inverse === true) {
    const ofW = norms;
    spectrum = invertSpectrum(matrices, facts.cols, compat);
    norms = { ...normColumns(spectrum, { tolerance: options.tolerance, compat }), sv_max: ofW.sv_max, sv_min: ofW.sv_min, rank_loss: ofW.rank_loss };
  }
  const tpl = options.fit === "TPL" || options.fit === "E_TPL";
  const fingers = options.fix_fingers === "clip_xmax"
    ? fitWithoutFingers(spectrum.esd, { max_fingers: options.max_fingers ?? 10, finger_thresh: options.finger_thresh ?? 1, compat })
    : undefined;
  const outcome: ReturnType<typeof fitPowerLaw> = fingers === undefined ? fitPowerLaw(spectrum.esd, {
    xmax: options.xmax,
    compat,
    fit: options.fit ?? "PL",
    pl_package: options.pl_package ?? "ww",
    xmin_peak: options.fix_fingers === "xmin_peak",
    xmin_max: options.xmin_max ?? null,
    diagnostics: options.fit_diagnostics ?? false,
  }) : fingers === null ? { status: "failed", reason: `fewer than 2 eigenvalues above ${FIT_THRESHOLD}` }
    // The powerlaw package's conventions report no xmax (§15.47).
    : { status: "success", ...fingers, xmax: compat && options.pl_package === "powerlaw" ? null! : fingers.xmax };

  let fit: PowerLawFit | null = null;
  if (outcome.status === "success") fit = outcome;
  else if (outcome.reported !== undefined) fit = outcome.reported;

  let fitColumns: Pick<LayerRecord, "alpha" | "alpha_weighted" | "log_alpha_norm" | "D" | "sigma" | "xmin" | "xmax" | "num_pl_spikes" | "warning">;
  if (fit !== null) {
    fitColumns = {
      alpha: fit.alpha,
      alpha_weighted: alphaWeighted(fit.alpha, norms.lambda_max),
      log_alpha_norm: logAlphaNorm(spectrum.esd, fit.alpha),
      D: fit.D,
      // The truncated power law has no standard error (the package gives NaN; §15.48).
      sigma: Number.isNaN(fit.sigma) ? null : fit.sigma,
      xmin: fit.xmin,
      xmax: fit.xmax,
      num_pl_spikes: fit.num_pl_spikes,
      // The 2/6 thresholds are power-law exponents; weightwatcher applies them to TPL too (§15.48).
      warning: tpl && !compat ? "" : trainingWarning(fit.alpha),
    };
  } else if (compat) {
    // weightwatcher keeps −1 sentinels and still computes the alpha-dependent norms with alpha = −1.
    fitColumns = {
      alpha: WW_SENTINEL,
      alpha_weighted: alphaWeighted(WW_SENTINEL, norms.lambda_max),
      log_alpha_norm: logAlphaNorm(spectrum.esd, WW_SENTINEL),
      D: WW_SENTINEL,
      sigma: WW_SENTINEL,
      xmin: WW_SENTINEL,
      xmax: null,
      num_pl_spikes: WW_SENTINEL,
      warning: trainingWarning(WW_SENTINEL),
    };
  } else {
    fitColumns = {
      alpha: null, alpha_weighted: null, log_alpha_norm: null, D: null, sigma: null,
      xmin: null, xmax: null, num_pl_spikes: null, warning: FIT_FAILED_WARNING,
    };
  }

  const record: LayerRecord = {
    layer_id: facts.layer_id,
    name: facts.name,
    longname: facts.longname,
    layer_type: facts.layer_type,
    type_rule: facts.type_rule,
    N: facts.N,
    M: facts.M,
    Q: facts.M === 0 ? -1 : facts.N / facts.M,
    rf: facts.rf,
    has_esd: true,
    ...norms,
    ...fitColumns,
    status: outcome.status,
  };
  if (tpl) {
    record.Lambda = fit?.Lambda ?? (compat ? WW_SENTINEL : null);
    if (!compat && fit?.Lambda !== undefined) record.fit_at_boundary = fit.alpha - 1 < TPL_BOUNDARY;
  }
  const fittedEvals = fit?.fitted_evals ?? countAbove(spectrum.esd, FIT_THRESHOLD);
  record.few_evals = fittedEvals < (options.min_reliable_evals ?? DEFAULT_MIN_RELIABLE_EVALS);
  if (options.fit_diagnostics) {
    record.fit_diagnostics = fit?.diagnostics ?? {
      fitter: options.pl_package === "powerlaw" || tpl ? "powerlaw" : "ww",
      family: tpl ? "TPL" : "PL",
      xmins: [], Ds: [], alphas: [],
      xmin: null,
    };
  }
  if (fingers !== undefined) {
    record.num_fingers = fingers?.num_fingers ?? null;
    record.raw_alpha = fingers?.raw_alpha ?? null;
  }
  const randomize = options.randomize === true;
  Object.assign(record, optionColumns(
    { esd: spectrum.esd, N: facts.N, M: facts.M, keepEvals, ...(extras.randomized === undefined ? {} : { randomized: glorot === 1 ? extras.randomized : scaleSpectra(extras.randomized, glorot) }) },
    { compat: options.compat, mp_fit: options.mp_fit === true, randomize, detX: options.detX === true },
  ));
  // vectors: the tail is the top num_pl_spikes eigenvectors; a failed fit puts all in the tail (§9).
  if (extras.vectors !== undefined) {
    Object.assign(record, vectorColumns(extras.vectors, outcome.status === "success" && fit !== null ? fit.num_pl_spikes : null));
  }
  if (facts.slice_id !== undefined) record.slice_id = facts.slice_id;
  if (outcome.status === "failed") record.fit_failure = outcome.reason;
  if (keepEvals) record.evals = Array.from(spectrum.esd);
  return record;
}

function scaleSpectra(spectra: RandomizedSpectra, factor: number): RandomizedSpectra {
  return { replicated: spectra.replicated.map((v) => v * factor), single: spectra.single.map((v) => v * factor) };
}
