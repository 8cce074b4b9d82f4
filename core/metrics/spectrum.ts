/**
 * From per-matrix Gram eigenvalues to the layer ESD, with weightwatcher's rank counts reproduced
 * from a Gram kernel (spec §3.1, §3.2): negative eigenvalues clamped at 0, an eigenvalue counted
 * as zero iff λ <= M·ε·λ_ref, counted zeros stored as exact 0.
 */

/** Machine epsilon of float64, numpy's finfo(float64).eps. */
export const EPS = 2.220446049250313e-16;

export interface LayerSpectrum {
  /** Pooled ESD, ascending. */
  esd: Float64Array;
  /** Gram dimension M of each matrix (the smaller side). */
  gramDim: number;
  /** Σ over matrices of the eigenvalues counted as zero against the matrix's own λ_max. */
  rank_loss: number;
  /** Smallest eigenvalue of each matrix (after clamping and snapping). */
  matrixMinima: number[];
  /** Largest eigenvalue of each matrix. */
  matrixMaxima: number[];
}

/** Threshold under which a Gram eigenvalue is numerically zero: M·ε·λ_ref. */
export function zeroThreshold(gramDim: number, lambdaRef: number): number {
  return gramDim * EPS * lambdaRef;
}

/**
 * Pools the eigenvalues of a layer's matrices (each ascending, as a symmetric eigensolver gives
 * them). Copies; the inputs are not modified.
 */
export function poolSpectrum(perMatrix: readonly Float64Array[], gramDim: number): LayerSpectrum {
  let total = 0;
  for (const evals of perMatrix) total += evals.length;
  const esd = new Float64Array(total);
  let offset = 0;
  let rankLoss = 0;
  const matrixMinima: number[] = [];
  const matrixMaxima: number[] = [];
  for (const evals of perMatrix) {
    let top = 0;
    for (const value of evals) if (value > top) top = value;
    const threshold = zeroThreshold(gramDim, top);
    let smallest = Infinity;
    for (let i = 0; i < evals.length; i++) {
      let value = evals[i]!;
      if (!(value > threshold)) {
        // Gram rounding noise of either sign, or a true zero: both are exact zeros for the SVD.
        value = 0;
        rankLoss++;
      }
      esd[offset + i] = value;
      if (value < smallest) smallest = value;
    }
    matrixMinima.push(evals.length === 0 ? 0 : smallest);
    matrixMaxima.push(top);
    offset += evals.length;
  }
  esd.sort();
  return { esd, gramDim, rank_loss: rankLoss, matrixMinima, matrixMaxima };
}
