/**
 * The per-layer columns weightwatcher computes from the ESD (spec §3.2), all over the full ESD
 * with its zeros, plus the fit-dependent ones (alpha_weighted, log_alpha_norm).
 */
import type { LayerRecord } from "../report.js";
import { CompensatedSum, compensatedSum } from "./summation.js";
import { zeroThreshold, type LayerSpectrum } from "./spectrum.js";

/** weightwatcher's default `tolerance` for weak_rank_loss; a falsy tolerance means this. */
export const DEFAULT_TOLERANCE = 1e-6;

/** The LayerRecord columns computed from the ESD alone, whatever the fit. */
export type NormColumns = Pick<
  LayerRecord,
  | "num_evals" | "lambda_max" | "sv_max" | "sv_min" | "rank_loss" | "weak_rank_loss" | "matrix_rank"
  | "entropy" | "norm" | "log_norm" | "spectral_norm" | "log_spectral_norm" | "stable_rank"
>;

export interface NormOptions {
  tolerance: number;
  /**
   * weightwatcher 0.7.5.5's definitions: sv_min = max over matrices of each one's smallest σ
   * (§15.9) and a rank-1 entropy divided by ln(1 + 1e-10) (§15.11). Otherwise: sv_min = the
   * smallest σ of the layer, entropy 0 when the rank is at most 1.
   */
  compat: boolean;
}

export function normColumns(spectrum: LayerSpectrum, options: NormOptions): NormColumns {
  const { esd } = spectrum;
  const n = esd.length;
  const lambdaMax = n === 0 ? 0 : esd[n - 1]!;
  const norm = compensatedSum(esd);
  const rankThreshold = zeroThreshold(spectrum.gramDim, lambdaMax);
  let matrixRank = 0;
  for (const value of esd) if (value > rankThreshold) matrixRank++;
  const tolerance = options.tolerance || DEFAULT_TOLERANCE;
  let weakRankLoss = 0;
  for (const value of esd) if (value < tolerance) weakRankLoss++;
  const minima = spectrum.matrixMinima.map(Math.sqrt);
  const svMin = minima.length === 0 ? 0 : options.compat ? Math.max(...minima) : Math.min(...minima);
  return {
    num_evals: n,
    lambda_max: lambdaMax,
    sv_max: Math.sqrt(lambdaMax),
    sv_min: svMin,
    rank_loss: spectrum.rank_loss,
    weak_rank_loss: weakRankLoss,
    matrix_rank: matrixRank,
    entropy: spectralEntropy(esd, norm, matrixRank, options.compat),
    norm,
    log_norm: Math.log10(norm),
    spectral_norm: lambdaMax,
    log_spectral_norm: Math.log10(lambdaMax),
    stable_rank: norm / lambdaMax,
  };
}

/**
 * weightwatcher's matrix entropy: p_i = λ_i/Σλ + 1e-10, −Σ p_i ln p_i / ln(rank + 1e-10). The
 * 1e-10 keeps ln defined at zero eigenvalues; it also makes the denominator ~1e-10 for rank 1,
 * where the corrected definition is 0 (a single direction carries all the energy).
 */
export function spectralEntropy(esd: Float64Array, norm: number, rank: number, compat: boolean): number {
  if (!compat && rank <= 1) return 0;
  const sum = new CompensatedSum();
  for (const value of esd) {
    const p = value / norm + 1e-10;
    sum.add(p * Math.log(p));
  }
  return -sum.value / Math.log(rank + 1e-10);
}

/** alpha · log10 λ_max. */
export function alphaWeighted(alpha: number, lambdaMax: number): number {
  return alpha * Math.log10(lambdaMax);
}

/** log10 Σ λ^alpha over the whole ESD, zeros included (0^alpha: 0 for alpha > 0, +∞ for alpha < 0). */
export function logAlphaNorm(esd: Float64Array, alpha: number): number {
  return Math.log10(compensatedSum(esd, 0, esd.length, (value) => Math.pow(value, alpha)));
}
