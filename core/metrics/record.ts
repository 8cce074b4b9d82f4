/**
 * One layer row (weightwatcher's columns) from the eigenvalues of the layer's matrices and the
 * facts of its plan. Pure: no I/O, no kernel.
 */
import type { AnalyzeOptions, LayerRecord, LayerType } from "../report.js";
import { alphaWeighted, logAlphaNorm, normColumns } from "./columns.js";
import { fitPowerLaw, trainingWarning, type PowerLawFit } from "./powerlaw.js";
import { poolSpectrum } from "./spectrum.js";

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

/** weightwatcher's "not computed / failed" marker for fit columns. */
export const WW_SENTINEL = -1;

/** The warning of a failed fit in the default mode (weightwatcher says 'over-trained', §15.2). */
export const FIT_FAILED_WARNING = "fit-failed";

export function layerRecord(
  facts: LayerFacts,
  perMatrixEvals: readonly Float64Array[],
  options: Pick<AnalyzeOptions, "tolerance" | "xmax" | "compat">,
  keepEvals = false,
): LayerRecord {
  const compat = options.compat !== "default";
  const spectrum = poolSpectrum(perMatrixEvals, facts.cols);
  const norms = normColumns(spectrum, { tolerance: options.tolerance, compat });
  const outcome = fitPowerLaw(spectrum.esd, { xmax: options.xmax, compat });

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
      sigma: fit.sigma,
      xmin: fit.xmin,
      xmax: fit.xmax,
      num_pl_spikes: fit.num_pl_spikes,
      warning: trainingWarning(fit.alpha),
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
  if (facts.slice_id !== undefined) record.slice_id = facts.slice_id;
  if (outcome.status === "failed") record.fit_failure = outcome.reason;
  if (keepEvals) record.evals = Array.from(spectrum.esd);
  return record;
}
