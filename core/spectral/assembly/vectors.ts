/*
 * The kernel's eigenvector path: eigenvalues and eigenvectors of X = WᵀW, used only by the options
 * that need vectors (`vectors`, subspace overlaps in `distances`). index.ts accumulates X and
 * reduces it to tridiagonal form exactly as for eigenvalues alone (the reduction leaves each
 * reflector's tau in the diagonal slot of its packed column); this file then
 *
 *   1. forms Qᵀ explicitly from the reflectors (LAPACK's dorgtr, lower, by backward accumulation
 *      Qᵀ = H(m-3)···H(0) applied from the right, one reflector at a time), and
 *   2. diagonalizes T = QᵀXQ by implicit QL with Wilkinson shifts, applying every plane rotation
 *      to the rows of Qᵀ (EISPACK's tql2 / LAPACK's dsteqr scheme, with square roots: the rotations
 *      are needed explicitly, so the root-free variant of the eigenvalue path does not apply).
 *
 * Eigenvectors are kept as ROWS (Y = Zᵀ, row i = eigenvector of d_i), so both the reflector
 * updates and the rotations stream contiguous rows with f64x2 loads. Cost: 4/3 m³ flops for Qᵀ and
 * about 6 m³ for the rotations (some m² rotations of 6m flops), on top of the eigenvalue path;
 * measured 6-12x the eigenvalue-only time for m = 300..1000 (LAPACK's dsyev: 8-13x). Memory: m²
 * more doubles (Y).
 *
 * Packed layout (see index.ts): X(i, j), i >= j, at X + 8 (j m - j (j-1)/2 + i - j); reflector k
 * is column k from row k+1 (v_{k+1} = 1 stored explicitly), its tau at X(k, k).
 */

import { axpy, dot } from "./level1";

const EPS: f64 = 1.1102230246251565e-16; // unit roundoff 2^-53
/** The eigenvalue path's absolute deflation threshold (X is scaled to max|X_ij| in [0.5, 1)). */
const ABSOLUTE_DEFLATION: f64 = 1e-22;
/** Bytes of reflectors applied together while forming Qᵀ (half of this machine's 1 MiB L2). */
const REFLECTOR_BLOCK_BYTES: i32 = 512 * 1024;

// @ts-ignore: decorator
@inline
function packedColumn(pX: usize, j: i32, m: i32): usize {
  // address of X(j, j): column j holds rows j..m-1 contiguously
  return pX + ((<usize>j * <usize>m - ((<usize>j * <usize>(j - 1)) >> 1)) << 3);
}

/**
 * Y = Qᵀ (m x m, row-major at pY) where Q = H(0) H(1) ··· H(m-3) is the orthogonal factor of the
 * tridiagonal reduction X = Q T Qᵀ. Backward accumulation Y ← Y H(k), k = m-3..0: each H(k) =
 * I - tau v vᵀ acts on every row of Y on its own (y ← y - tau (y·v) v, columns k+1..), and rows
 * 0..k are still the identity there (their dot with v is 0), so it touches rows k+1.. only.
 * Because rows are independent, the reflectors go in blocks that fit in L2: every row meets a
 * whole block while it sits in L1, so Y streams through memory once per block, not once per
 * reflector.
 */
export function reflectorProductTransposed(pX: usize, m: i32, pY: usize): void {
  memory.fill(pY, 0, (<usize>m * <usize>m) << 3);
  for (let i = 0; i < m; i++) store<f64>(pY + ((<usize>i * <usize>m + <usize>i) << 3), 1.0);
  let block = <i32>(<f64>REFLECTOR_BLOCK_BYTES / (<f64>m * 8));
  if (block < 1) block = 1;
  for (let hi = m - 3; hi >= 0; hi -= block) {
    const lo = max(0, hi - block + 1);
    for (let r = lo + 1; r < m; r++) {
      const row = pY + ((<usize>r * <usize>m) << 3);
      // reflectors hi..lo in order; reflector k touches row r only when r >= k+1
      for (let k = min(hi, r - 1); k >= lo; k--) {
        const column = packedColumn(pX, k, m);
        const tau = load<f64>(column);
        if (tau == 0) continue;
        const v = column + 8; // v_{k+1} = 1, rows k+1..m-1
        const segment = row + (<usize>(k + 1) << 3);
        const len = m - k - 1;
        const s = dot(segment, v, len);
        if (s != 0) axpy(-tau * s, v, segment, len);
      }
    }
  }
}

/**
 * Rows i and i+1 of Y (eigenvectors as rows) under the plane rotation of a QL step:
 * y_{i+1} ← s y_i + c y_{i+1}, y_i ← c y_i - s y_{i+1}.
 */
function rotateRows(pY: usize, m: i32, i: i32, c: f64, s: f64): void {
  const a = pY + ((<usize>i * <usize>m) << 3);
  const b = a + (<usize>m << 3);
  const vc = f64x2.splat(c), vs = f64x2.splat(s);
  let k = 0;
  for (; k + 2 <= m; k += 2) {
    const o = <usize>k << 3;
    const x = v128.load(a + o);
    const y = v128.load(b + o);
    v128.store(b + o, f64x2.add(f64x2.mul(vs, x), f64x2.mul(vc, y)));
    v128.store(a + o, f64x2.sub(f64x2.mul(vc, x), f64x2.mul(vs, y)));
  }
  for (; k < m; k++) {
    const o = <usize>k << 3;
    const x = load<f64>(a + o);
    const y = load<f64>(b + o);
    store<f64>(b + o, s * x + c * y);
    store<f64>(a + o, c * x - s * y);
  }
}

/**
 * Eigenvalues (in d, unsorted) and eigenvectors (rows of Y, starting from Y = Qᵀ) of the symmetric
 * tridiagonal matrix with diagonal d and off-diagonal e (e_i couples i and i+1; e_{m-1} unused).
 * Implicit QL with the shift from the leading 2x2 block; a block splits where
 * e_i² <= eps² |d_i d_{i+1}| or |e_i| is below the absolute threshold (as the eigenvalue path).
 * Returns false if the sweeps exceed 30 per eigenvalue on average (never seen).
 */
export function tridiagonalEigenpairs(pD: usize, pE: usize, pY: usize, m: i32): bool {
  store<f64>(pE + (<usize>(m - 1) << 3), 0.0);
  const eps2 = EPS * EPS;
  let budget = 30 * m;
  for (let l = 0; l < m; l++) {
    while (true) {
      let mEnd = l;
      while (mEnd < m - 1) {
        const e = load<f64>(pE + (<usize>mEnd << 3));
        const dm = load<f64>(pD + (<usize>mEnd << 3));
        const dn = load<f64>(pD + (<usize>(mEnd + 1) << 3));
        if (e * e <= eps2 * Math.abs(dm * dn) || Math.abs(e) <= ABSOLUTE_DEFLATION) {
          store<f64>(pE + (<usize>mEnd << 3), 0.0);
          break;
        }
        mEnd++;
      }
      if (mEnd == l) break;
      if (--budget < 0) return false;
      const dl = load<f64>(pD + (<usize>l << 3));
      const el = load<f64>(pE + (<usize>l << 3));
      // g = d_mEnd - (shift): the shift is the eigenvalue of the leading 2x2 block nearer to d_l
      let g = (load<f64>(pD + (<usize>(l + 1) << 3)) - dl) / (2 * el);
      let r = Math.hypot(g, 1.0);
      g = load<f64>(pD + (<usize>mEnd << 3)) - dl + el / (g + copysign<f64>(r, g));
      let s: f64 = 1, c: f64 = 1, p: f64 = 0;
      let i = mEnd - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const ei = load<f64>(pE + (<usize>i << 3));
        const f = s * ei;
        const b = c * ei;
        r = Math.hypot(f, g);
        store<f64>(pE + (<usize>(i + 1) << 3), r);
        if (r == 0) {
          // the rotation is undefined: the block has split below i; undo the shift and restart
          const pd = pD + (<usize>(i + 1) << 3);
          store<f64>(pd, load<f64>(pd) - p);
          store<f64>(pE + (<usize>mEnd << 3), 0.0);
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        const pd1 = pD + (<usize>(i + 1) << 3);
        g = load<f64>(pd1) - p;
        r = (load<f64>(pD + (<usize>i << 3)) - g) * s + 2 * c * b;
        p = s * r;
        store<f64>(pd1, g + p);
        g = c * r - b;
        rotateRows(pY, m, i, c, s);
      }
      if (underflow) continue;
      const pdl = pD + (<usize>l << 3);
      store<f64>(pdl, load<f64>(pdl) - p);
      store<f64>(pE + (<usize>l << 3), g);
      store<f64>(pE + (<usize>mEnd << 3), 0.0);
    }
  }
  return true;
}
