/** Small models with a designed power-law spectrum, for tests that rank checkpoints by alpha. */
import { safetensorsBytes } from "./helpers.js";

/**
 * One 96x64 layer whose 64 eigenvalues are the quantiles of a Pareto law with density exponent
 * `alpha` (λ_i = (1 − q_i)^(−1/(alpha−1)), all ≥ 1): a diagonal W with √λ_i on its diagonal, so
 * WᵀW has exactly these eigenvalues. A smaller alpha gives a heavier tail, a larger Frobenius norm
 * and a larger λ_max; the fitted alpha follows the designed one.
 */
export function paretoModel(alpha: number): Uint8Array {
  const N = 96;
  const M = 64;
  const values = new Float32Array(N * M);
  for (let i = 0; i < M; i++) {
    const q = (i + 1) / (M + 1);
    values[i * M + i] = Math.sqrt((1 - q) ** (-1 / (alpha - 1)));
  }
  return safetensorsBytes([{ name: "fc.weight", shape: [N, M], values }]);
}
