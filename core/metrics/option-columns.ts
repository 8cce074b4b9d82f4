/**
 * The columns and ESD transformations of weightwatcher's analysis options that a layer row adds to
 * the default ones: glorot_fix and inverse (applied to the eigenvalues before anything else),
 * mp_fit, randomize and detX (computed from the final ESD). record.ts assembles them into the row.
 */
import type { AnalyzeOptions, LayerRecord } from "../report.js";
import { detX } from "./detx.js";
import { fitMarchenkoPastur, type MpFit } from "./mp-fit.js";
import { randomizeColumns, type RandomizedSpectra } from "./randomize.js";
import { poolSpectrum, type LayerSpectrum } from "./spectrum.js";

/** weightwatcher's "not computed / failed" marker. */
const SENTINEL = -1;

type OptionFlags = Partial<Pick<AnalyzeOptions, "glorot_fix" | "inverse" | "mp_fit" | "randomize" | "detX">> &
  Pick<AnalyzeOptions, "compat">;

/**
 * glorot_fix (default mode only; weightwatcher ignores the flag, §15.3): every matrix multiplied
 * by 1/κ = √((N+M)·rf/2), so every eigenvalue by (N+M)·rf/2.
 */
export function glorotFactor(N: number, M: number, rf: number): number {
  return ((N + M) * rf) / 2;
}

export function applyGlorot(perMatrix: readonly Float64Array[], factor: number): Float64Array[] {
  return perMatrix.map((evals) => evals.map((v) => v * factor));
}

/**
 * inverse: the ESD of 1/λ. weightwatcher (compat) inverts the accumulated list after each matrix,
 * so with several matrices the earlier ones are inverted again (an even number of times leaves
 * them as they were), and zero eigenvalues become +∞ (§15.10). Default: one inversion after
 * pooling, zero eigenvalues left out.
 */
export function invertSpectrum(perMatrix: readonly Float64Array[], gramDim: number, compat: boolean): LayerSpectrum {
  const pooled = poolSpectrum(perMatrix, gramDim);
  if (!compat) {
    const inverted = Array.from(pooled.esd).filter((v) => v > 0).map((v) => 1 / v);
    return { ...pooled, esd: Float64Array.from(inverted).sort() };
  }
  let accumulated: number[] = [];
  for (const evals of perMatrix) {
    accumulated = accumulated.concat(Array.from(poolSpectrum([evals], gramDim).esd)).map((v) => 1 / v);
  }
  return { ...pooled, esd: Float64Array.from(accumulated).sort() };
}

type MpColumns = Record<"num_spikes" | "sigma_mp" | "mp_softrank" | "W_scale" | "bulk_max" | "bulk_min", number | null>;

function mpColumns(fit: MpFit | null, compat: boolean): MpColumns {
  if (fit === null) {
    const missing = compat ? SENTINEL : null;
    return { num_spikes: missing, sigma_mp: missing, mp_softrank: missing, W_scale: missing, bulk_max: missing, bulk_min: missing };
  }
  return {
    num_spikes: fit.num_spikes,
    sigma_mp: fit.sigma_mp,
    mp_softrank: fit.mp_softrank,
    W_scale: fit.W_scale,
    bulk_max: fit.bulk_max,
    bulk_min: fit.bulk_min,
  };
}

export interface OptionInputs {
  /** The layer's final ESD (ascending, after glorot_fix / inverse). */
  esd: Float64Array;
  /** Reported N and M (Q = N/M enters the MP fit). */
  N: number;
  M: number;
  randomized?: RandomizedSpectra;
  keepEvals: boolean;
}

/** The mp_fit, randomize and detX columns the options ask for. */
export function optionColumns(inputs: OptionInputs, options: OptionFlags): Partial<LayerRecord> {
  const compat = options.compat !== "default";
  const columns: Partial<LayerRecord> = {};
  const { esd, N, M } = inputs;
  if (options.mp_fit) Object.assign(columns, mpColumns(esd.length > 0 ? fitMarchenkoPastur(esd, N, M) : null, compat));
  if (options.randomize && inputs.randomized !== undefined && esd.length > 0) {
    const random = randomizeColumns(esd, inputs.randomized, N, M);
    const mp = mpColumns(random.fit, compat);
    Object.assign(columns, {
      max_rand_eval: random.max_rand_eval,
      rand_distance: random.rand_distance,
      ww_softrank: random.ww_softrank,
      ww_maxdist: random.ww_maxdist,
      rand_num_spikes: mp.num_spikes,
      rand_sigma_mp: mp.sigma_mp,
      rand_mp_softrank: mp.mp_softrank,
      rand_W_scale: mp.W_scale,
      rand_bulk_max: mp.bulk_max,
      rand_bulk_min: mp.bulk_min,
      traps: random.traps,
    } satisfies Partial<LayerRecord>);
    if (inputs.keepEvals) {
      columns.rand_evals = Array.from(inputs.randomized.replicated);
      columns.rand_evals_distance = Array.from(inputs.randomized.single);
    }
  }
  if (options.detX) {
    const result = detX(esd);
    // weightwatcher's two names are swapped (§15.15): its detX_val is in the ESD's units.
    columns.detX_num = result.detX_num;
    columns.detX_val = compat ? result.value : result.rescaledValue;
    columns.detX_val_unrescaled = compat ? result.rescaledValue : result.value;
  }
  return columns;
}
