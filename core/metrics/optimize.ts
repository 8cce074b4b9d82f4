/**
 * SciPy 1.10's `optimize.fmin` (Nelder-Mead) and `optimize.brute`, ported step for step so that
 * fits built on them (the Marchenko-Pastur fit, the powerlaw package's TPL fit) land on the same
 * point as weightwatcher's: every vertex is built from the start point by the same arithmetic and
 * every comparison is made in the same order, so results agree to rounding (spec §5, §13).
 *
 * Usage:
 *   import { fmin, brute } from "./optimize.js";
 *   const r = fmin((x) => (x[0]! - 1) ** 2 + (x[1]! + 2) ** 2, [0, 0]);
 *   // r.x (Float64Array), r.fun, r.nit, r.nfev, r.status (0 converged, 1 maxfun, 2 maxiter)
 *   // options as SciPy's: { xtol: 1e-4, ftol: 1e-4, maxiter: 200·N, maxfun: 200·N } by default
 *   const b = brute((x) => (x[0]! - 0.3) ** 2, [{ start: 0, stop: 1, step: 0.01 }]);
 *   // grid search over np.mgrid semantics, then polished by fmin (finish: null to skip)
 */

/** An objective of a parameter vector. It receives a fresh copy, as SciPy's wrapper gives one. */
export type Objective = (x: Float64Array) => number;

export interface FminOptions {
  /** Absolute tolerance on the simplex spread (SciPy xtol / xatol). Default 1e-4. */
  xtol?: number;
  /** Absolute tolerance on the spread of the function values (SciPy ftol / fatol). Default 1e-4. */
  ftol?: number;
  /** Default: 200·N when maxfun is not given either, else unbounded (SciPy's rule). */
  maxiter?: number;
  /** Default: 200·N when maxiter is not given either, else unbounded (SciPy's rule). */
  maxfun?: number;
}

export interface FminResult {
  x: Float64Array;
  fun: number;
  nit: number;
  nfev: number;
  /** 0 converged, 1 maximum number of evaluations, 2 maximum number of iterations (SciPy warnflag). */
  status: 0 | 1 | 2;
}

/** Raised inside fmin when the evaluation budget is spent; SciPy's _MaxFuncCallError. */
class MaxFunctionCalls extends Error {}

// Standard Nelder-Mead coefficients (SciPy's non-adaptive defaults).
const RHO = 1;
const CHI = 2;
const PSI = 0.5;
const SIGMA = 0.5;
const NONZDELT = 0.05;
const ZDELT = 0.00025;

/**
 * numpy's float ordering for sorting: NaN after every number. Used by the insertion sort below,
 * which is what np.argsort's quicksort does for fewer than 17 elements (stable).
 */
function floatLess(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** np.argsort for a short float array (insertion sort, as numpy uses below 17 elements). */
function argsortSmall(values: Float64Array): number[] {
  const order = Array.from(values, (_, i) => i);
  for (let i = 1; i < order.length; i++) {
    const current = order[i]!;
    let j = i;
    while (j > 0 && floatLess(values[current]!, values[order[j - 1]!]!)) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = current;
  }
  return order;
}

/** Minimizes `func` from `x0` with SciPy 1.10's Nelder-Mead (`scipy.optimize.fmin`). */
export function fmin(func: Objective, x0: ArrayLike<number>, options: FminOptions = {}): FminResult {
  const xatol = options.xtol ?? 1e-4;
  const fatol = options.ftol ?? 1e-4;
  const N = x0.length;
  let maxiter = options.maxiter;
  let maxfun = options.maxfun;
  if (maxiter === undefined && maxfun === undefined) {
    maxiter = N * 200;
    maxfun = N * 200;
  } else if (maxiter === undefined) {
    maxiter = maxfun === Infinity ? N * 200 : Infinity;
  } else if (maxfun === undefined) {
    maxfun = maxiter === Infinity ? N * 200 : Infinity;
  }
  const maxIterations = maxiter!;
  const maxCalls = maxfun!;

  let sim: Float64Array[] = [Float64Array.from(x0)];
  for (let k = 0; k < N; k++) {
    const y = Float64Array.from(x0);
    y[k] = y[k] !== 0 ? (1 + NONZDELT) * y[k]! : ZDELT;
    sim.push(y);
  }
  let fsim = new Float64Array(N + 1).fill(Infinity);

  let ncalls = 0;
  const call = (x: Float64Array): number => {
    if (ncalls >= maxCalls) throw new MaxFunctionCalls();
    ncalls++;
    return func(Float64Array.from(x));
  };
  const sortSimplex = (): void => {
    const order = argsortSmall(fsim);
    sim = order.map((i) => sim[i]!);
    fsim = Float64Array.from(order, (i) => fsim[i]!);
  };

  try {
    for (let k = 0; k <= N; k++) fsim[k] = call(sim[k]!);
  } catch (error) {
    if (!(error instanceof MaxFunctionCalls)) throw error;
  }
  sortSimplex();
  sortSimplex();

  let iterations = 1;
  const combine = (a: number, xbar: Float64Array, b: number, vertex: Float64Array): Float64Array => {
    const out = new Float64Array(N);
    for (let i = 0; i < N; i++) out[i] = a * xbar[i]! - b * vertex[i]!;
    return out;
  };

  while (ncalls < maxCalls && iterations < maxIterations) {
    try {
      if (converged(sim, fsim, xatol, fatol)) break;

      // np.add.reduce(sim[:-1], 0) / N: rows added in order.
      const xbar = new Float64Array(N);
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) xbar[i] = xbar[i]! + sim[j]![i]!;
      for (let i = 0; i < N; i++) xbar[i] = xbar[i]! / N;
      const worst = sim[N]!;

      const xr = combine(1 + RHO, xbar, RHO, worst);
      const fxr = call(xr);
      let doshrink = false;

      if (fxr < fsim[0]!) {
        const xe = combine(1 + RHO * CHI, xbar, RHO * CHI, worst);
        const fxe = call(xe);
        if (fxe < fxr) {
          sim[N] = xe;
          fsim[N] = fxe;
        } else {
          sim[N] = xr;
          fsim[N] = fxr;
        }
      } else if (fxr < fsim[N - 1]!) {
        sim[N] = xr;
        fsim[N] = fxr;
      } else if (fxr < fsim[N]!) {
        // Outside contraction.
        const xc = combine(1 + PSI * RHO, xbar, PSI * RHO, worst);
        const fxc = call(xc);
        if (fxc <= fxr) {
          sim[N] = xc;
          fsim[N] = fxc;
        } else {
          doshrink = true;
        }
      } else {
        // Inside contraction: (1 − psi)·xbar + psi·worst.
        const xcc = new Float64Array(N);
        for (let i = 0; i < N; i++) xcc[i] = (1 - PSI) * xbar[i]! + PSI * worst[i]!;
        const fxcc = call(xcc);
        if (fxcc < fsim[N]!) {
          sim[N] = xcc;
          fsim[N] = fxcc;
        } else {
          doshrink = true;
        }
      }
      if (doshrink) {
        for (let j = 1; j <= N; j++) {
          const vertex = new Float64Array(N);
          for (let i = 0; i < N; i++) vertex[i] = sim[0]![i]! + SIGMA * (sim[j]![i]! - sim[0]![i]!);
          sim[j] = vertex;
          fsim[j] = call(vertex);
        }
      }
      iterations++;
    } catch (error) {
      if (!(error instanceof MaxFunctionCalls)) throw error;
    } finally {
      sortSimplex();
    }
  }

  let fun = Infinity;
  let sawNaN = false;
  for (const value of fsim) {
    if (Number.isNaN(value)) sawNaN = true;
    else if (value < fun) fun = value;
  }
  const status: 0 | 1 | 2 = ncalls >= maxCalls ? 1 : iterations >= maxIterations ? 2 : 0;
  return { x: Float64Array.from(sim[0]!), fun: sawNaN ? NaN : fun, nit: iterations, nfev: ncalls, status };
}

/** max |sim[1:] − sim[0]| <= xatol and max |fsim[0] − fsim[1:]| <= fatol; NaN fails (np.max propagates it). */
function converged(sim: Float64Array[], fsim: Float64Array, xatol: number, fatol: number): boolean {
  let xspread = -Infinity;
  let fspread = -Infinity;
  for (let j = 1; j < sim.length; j++) {
    for (let i = 0; i < sim[0]!.length; i++) {
      const d = Math.abs(sim[j]![i]! - sim[0]![i]!);
      if (Number.isNaN(d)) return false;
      if (d > xspread) xspread = d;
    }
    const df = Math.abs(fsim[0]! - fsim[j]!);
    if (Number.isNaN(df)) return false;
    if (df > fspread) fspread = df;
  }
  return xspread <= xatol && fspread <= fatol;
}

/** One axis of a brute grid: `slice(start, stop, step)` with a real step (np.arange semantics). */
export interface GridRange {
  start: number;
  stop: number;
  step: number;
}

export interface BruteOptions {
  /** Polish the best grid point with fmin (SciPy's default `finish=fmin`); null: grid point only. */
  finish?: FminOptions | null;
}

export interface BruteResult {
  /** Best point: the polished one when finish ran. */
  x: Float64Array;
  fun: number;
  /** The best grid point and its value, before polishing. */
  gridX: Float64Array;
  gridFun: number;
  /** Status of the polishing fmin (0 when none ran). */
  status: 0 | 1 | 2;
}

/**
 * np.arange(start, stop, step) for floats: length ceil((stop − start)/step), element 1 computed as
 * start + step, then element i as start + i·((start + step) − start) (numpy's fill).
 */
export function arangeFloat(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length === 0) return out;
  out[0] = start;
  if (length === 1) return out;
  const delta = start + step - start;
  out[1] = start + step;
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

/**
 * scipy.optimize.brute over the Cartesian grid of `ranges` (last axis fastest, as np.mgrid), the
 * first smallest value chosen (np.argmin: a NaN wins as the first NaN), then polished by fmin
 * started from the grid point.
 */
export function brute(func: Objective, ranges: readonly GridRange[], options: BruteOptions = {}): BruteResult {
  const axes = ranges.map((r) => arangeFloat(r.start, r.stop, r.step));
  const dims = axes.map((a) => a.length);
  const total = dims.reduce((a, b) => a * b, 1);
  if (total === 0) throw new RangeError("brute: the grid is empty");
  const point = new Float64Array(axes.length);
  let bestIndex = -1;
  let bestValue = NaN;
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    for (let k = axes.length - 1; k >= 0; k--) {
      point[k] = axes[k]![rest % dims[k]!]!;
      rest = Math.floor(rest / dims[k]!);
    }
    const value = func(Float64Array.from(point));
    if (bestIndex < 0) {
      bestIndex = flat;
      bestValue = value;
    } else if (!Number.isNaN(bestValue) && (Number.isNaN(value) || value < bestValue)) {
      bestIndex = flat;
      bestValue = value;
    }
  }
  const gridX = new Float64Array(axes.length);
  let rest = bestIndex;
  for (let k = axes.length - 1; k >= 0; k--) {
    gridX[k] = axes[k]![rest % dims[k]!]!;
    rest = Math.floor(rest / dims[k]!);
  }
  if (options.finish === null) return { x: gridX, fun: bestValue, gridX, gridFun: bestValue, status: 0 };
  const polished = fmin(func, gridX, options.finish ?? {});
  return { x: polished.x, fun: polished.fun, gridX, gridFun: bestValue, status: polished.status };
}
