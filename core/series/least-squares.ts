/**
 * Ordinary least-squares line of the target on a metric (target ≈ slope·metric + intercept), the
 * line weightwatcher's blog draws through its metric-versus-accuracy plots.
 */

export interface LeastSquaresLine {
  slope: number | null;
  intercept: number | null;
  /** Coefficient of determination 1 − SSE/SST (the squared Pearson correlation for a fitted line). */
  r2: number | null;
  /** Root mean square of the residuals, sqrt(SSE / n), in the target's units. */
  rmse: number | null;
}

export function leastSquaresLine(x: readonly number[], y: readonly number[]): LeastSquaresLine {
  if (x.length !== y.length) throw new RangeError(`leastSquaresLine: ${x.length} x values but ${y.length} y values`);
  const n = x.length;
  const none: LeastSquaresLine = { slope: null, intercept: null, r2: null, rmse: null };
  if (n < 2) return none;
  const meanX = x.reduce((a, b) => a + b, 0) / n;
  const meanY = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - meanX;
    const dy = y[i]! - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  // A constant metric has no line through it.
  if (!(sxx > 0)) return none;
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const residual = y[i]! - (slope * x[i]! + intercept);
    sse += residual * residual;
  }
  const r2 = syy > 0 ? Math.max(0, Math.min(1, 1 - sse / syy)) : null;
  return { slope, intercept, r2, rmse: Math.sqrt(sse / n) };
}
