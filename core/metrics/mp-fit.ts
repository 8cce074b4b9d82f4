/**
 * weightwatcher's Marchenko-Pastur fit (mp_fit=True, and the randomized ESD of randomize; spec §5):
 * rescale the ESD to mean 1, fit the MP scale σ to a triangular-kernel density by SciPy's brute
 * grid search polished with Nelder-Mead, then count the eigenvalues beyond the bulk edge plus a
 * Tracy-Widom margin. Every expression is evaluated in weightwatcher's order so that the
 * optimizer makes the same comparisons (results agree to rounding, §13).
 */
import { linspace, triangularDensity } from "./kde.js";
import { numpySum } from "./numpy-sum.js";
import { brute } from "./optimize.js";

export interface MpFit {
  /** Eigenvalues above the bulk edge plus the Tracy-Widom margin (rescaled units). */
  num_spikes: number;
  /** Fitted σ of the MP law, in rescaled units (mean eigenvalue 1). */
  sigma_mp: number;
  /** Bulk edge λ₊ over the largest rescaled eigenvalue. */
  mp_softrank: number;
  /** MP bulk edges in the ESD's own units. */
  bulk_max: number;
  bulk_min: number;
  /** √n / ‖W‖_F: the factor whose square rescales the ESD to mean 1. */
  W_scale: number;
}

/** Bandwidth of the density estimate (weightwatcher's bw). */
export const MP_BANDWIDTH = 0.1;
/** Points of the density grid, and the density below which a point is left out of the fit. */
const DENSITY_POINTS = 1000;
const DENSITY_FLOOR = 0.01;
/** Residual of every point when the MP bulk cannot cover the density peak (weightwatcher's 1000). */
const PENALTY = 1000;
/** np.nan_to_num's replacement for ±∞. */
const FLOAT_MAX = 1.7976931348623157e308;

function nanToNum(value: number): number {
  if (Number.isNaN(value)) return 0;
  if (value === Infinity) return FLOAT_MAX;
  if (value === -Infinity) return -FLOAT_MAX;
  return value;
}

/**
 * The MP fit of an ESD (any order, zeros included) of a layer whose reported dimensions are N and
 * M (Q = N/M as reported, so weightwatcher's swapped conv2d Q < 1 is used as is in compat mode).
 * Returns null where weightwatcher's fit raises (then it reports −1 for all six columns): an
 * empty or all-zero ESD, or a density with no point above the floor.
 */
export function fitMarchenkoPastur(evals: ArrayLike<number>, N: number, M: number): MpFit | null {
  const n = evals.length;
  if (n === 0 || M <= 0) return null;
  const Q = N / M;
  const sorted = Float64Array.from(evals).sort();
  const norm = Math.sqrt(numpySum(sorted));
  const W_scale = Math.sqrt(n) / norm;
  if (!Number.isFinite(W_scale)) return null;
  const factor = W_scale * W_scale;
  const rescaled = new Float64Array(n);
  for (let i = 0; i < n; i++) rescaled[i] = factor * sorted[i]!;
  const lambdaMax = rescaled[n - 1]!;

  // calc_sigma: the σ whose MP upper edge is the largest eigenvalue; the grid spans 0.05-2 of it.
  const invSqrtQ = 1.0 / Math.sqrt(Q);
  const edge = 1 + invSqrtQ;
  const s0 = Math.sqrt(lambdaMax / (edge * edge));

  const quarterCircle = Q === 1;
  const toFit = quarterCircle ? rescaled.map(Math.sqrt) : rescaled;
  const grid = linspace(0, toFit[n - 1]! + 0.5, DENSITY_POINTS);
  const density = triangularDensity(toFit, grid, MP_BANDWIDTH);
  const keptX: number[] = [];
  const keptY: number[] = [];
  let dropped = 0;
  for (let i = 0; i < DENSITY_POINTS; i++) {
    if (density[i]! > DENSITY_FLOOR) {
      keptX.push(grid[i]!);
      keptY.push(density[i]!);
    } else if (density[i]! < DENSITY_FLOOR) {
      dropped++;
    }
  }
  if (keptX.length === 0) return null;
  let peakIndex = 0;
  for (let i = 1; i < keptY.length; i++) if (keptY[i]! > keptY[peakIndex]!) peakIndex = i;
  const xPeak = keptX[peakIndex]!;
  const xLast = keptX[keptX.length - 1]!;
  const sqrtInvQ = Math.sqrt(1 / Q);
  const yRatio = 1 / Q;
  const squares = new Float64Array(keptX.length + dropped);

  const objective = (p: Float64Array): number => {
    const sigma = p[0]!;
    if (quarterCircle) {
      const scale = 1 / (Math.PI * sigma * sigma);
      for (let i = 0; i < keptX.length; i++) {
        const x = keptX[i]!;
        const r = nanToNum(scale * Math.sqrt(4 - x * x)) - keptY[i]!;
        squares[i] = r * r;
      }
    } else {
      const bTerm = sigma * (1 + sqrtInvQ);
      const aTerm = sigma * (1 - sqrtInvQ);
      const b = bTerm * bTerm;
      const a = aTerm * aTerm;
      if (b < xPeak || b > xLast || a > xPeak) {
        squares.fill(PENALTY * PENALTY, 0, keptX.length);
      } else {
        for (let i = 0; i < keptX.length; i++) {
          const x = keptX[i]!;
          const rho = nanToNum((1 / (2 * Math.PI * sigma * sigma * x * yRatio)) * Math.sqrt((b - x) * (x - a)));
          const r = rho - keptY[i]!;
          squares[i] = r * r;
        }
      }
    }
    // The points below the density floor count as residual 0, appended after the kept ones.
    squares.fill(0, keptX.length);
    return numpySum(squares);
  };

  const result = brute(objective, [{ start: 0.05 * s0, stop: 2.0 * s0, step: 0.01 * s0 }]);
  const sigma = result.x[0]!;
  const plusTerm = sigma * (1 + 1 / Math.sqrt(Q));
  const minusTerm = sigma * (1 - 1 / Math.sqrt(Q));
  const bulkMax = plusTerm * plusTerm;
  const bulkMin = minusTerm * minusTerm;
  const tracyWidom = (1 / Math.sqrt(Q)) * Math.pow(bulkMax, 2 / 3) * Math.pow(M, -2 / 3);
  const threshold = bulkMax + Math.sqrt(tracyWidom);
  let spikes = 0;
  for (let i = 0; i < n; i++) if (rescaled[i]! > threshold) spikes++;
  return {
    num_spikes: spikes,
    sigma_mp: sigma,
    mp_softrank: bulkMax / lambdaMax,
    bulk_max: bulkMax / factor,
    bulk_min: bulkMin / factor,
    W_scale,
  };
}
