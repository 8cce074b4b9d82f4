/*
 * alphawatch spectral kernel: eigenvalues of X = WᵀW, float64 throughout, SIMD128 (f64x2).
 *
 * The host feeds W (N x M, N >= M) in blocks of rows; the kernel accumulates the Gram matrix X,
 * reduces it to a symmetric tridiagonal matrix T with Householder reflectors, and returns the
 * eigenvalues of T (unsorted; the host sorts them). Only eigenvalues are computed.
 *
 * Memory (one instance analyses one matrix at a time and reuses its memory for the next):
 *
 *   base = __heap_base rounded up to 64 bytes
 *   X      packed lower triangle, column by column: element (i, j), i >= j, at
 *          X[j*m - j*(j-1)/2 + (i - j)]  (column j holds rows j..m-1 contiguously).
 *          M(M+1)/2 doubles; packed storage halves the dominant term (a 4096-column Gram is
 *          67 MB instead of 134 MB), which is what lets 4096 x 11008 fit in 96 MiB.
 *   region reused by the two phases, sized for the larger:
 *     accumulation:  staging  r x M row-major rows of W as the host wrote them (r <= 256)
 *                    Bp       the same rows repacked column-quad by column-quad: for each group of
 *                             4 columns (zero-padded past M), r records of 4 doubles. The rank-r
 *                             update then streams two contiguous panels per 4x4 tile of X.
 *     reduction:     W        M x NB column-major (leading dimension M): dlatrd's W panel
 *                    Up, Zp   the panel [V W] and -[W V] repacked row-quad by row-quad (2NB records
 *                             of 4 doubles each) for the rank-2k update
 *                    d, e     diagonal and off-diagonal of T (e holds squares in the QL phase)
 *
 * Algorithm:
 *   Gram: X += BᵀB for each block B (r rows). For every 4x4 tile of the lower triangle, 8 f64x2
 *     accumulators run over the r rows (2 vector loads + 4 load-splats per 16 flops); full tiles
 *     are added to X with unaligned vector loads/stores, diagonal and edge tiles lane by lane.
 *     Row tiles are processed in blocks whose panels fill about 512 KiB (L2 is 1 MiB per core
 *     here), so each column tile's panel stays in L1 while it meets the block's row tiles. The 4x4
 *     tile is the largest that fits x86-64's 16 vector registers under V8 (which keeps one for
 *     itself); a k-loop unrolled by two spilled and ran 35% slower.
 *   Tridiagonalization (LAPACK dsytrd, lower, in packed storage): panels of NB = 32 columns. Within
 *     a panel (dlatrd), each column is first brought up to date with the panel's earlier
 *     reflectors (two axpys per earlier column), a reflector H = I - tau v vᵀ is generated
 *     (dlarfg), and w = tau (A v - V(Wᵀv) - W(Vᵀv)) - (tau/2)(wᵀv) v is formed; A v is a packed
 *     symmetric matrix-vector product that visits 4 columns at a time (each loaded element serves
 *     both the column's axpy and its dot product). After the panel, the trailing matrix gets
 *     A -= V Wᵀ + W Vᵀ through the same 4x4-tile kernel as the Gram (K = 2NB), which carries half
 *     of the reduction's flops at Gram speed; the other half (the symmetric products) is bound by
 *     memory bandwidth, as in LAPACK.
 *   Before the reduction X is scaled by a power of two (exact) so that max|X_ij| is in [0.5, 1):
 *     no squared norm can overflow and the QL deflation thresholds are absolute.
 *   Tridiagonal eigenvalues: implicit QL with Wilkinson-like shift in the root-free
 *     Pal-Walker-Kahan form (works on the squares of the off-diagonal, no square root per
 *     rotation), deflating when e_i^2 <= eps^2 |d_i d_{i+1}| or e_i is below 1e-22 (absolute,
 *     after scaling: far below the eps * ||X|| accuracy of the reduction).
 *   Eigenvectors (eigh(), only for the options that need them): the same reduction, then
 *     vectors.ts forms Qᵀ and runs QL with the rotations applied to it; m² more doubles after the
 *     region. The reduction stores each reflector's tau in its column's diagonal slot (free once
 *     the column is finished), so the eigenvalue path pays one store per column for it.
 */

import { axpy, dot } from "./level1";
import { reflectorProductTransposed, tridiagonalEigenpairs } from "./vectors";

/** Rows of W packed per rank-r update; bigger blocks only cost memory (the update is tiled by 4). */
const GRAM_BLOCK_ROWS: i32 = 256;
/** Panel width of the blocked reduction (LAPACK's default for dsytrd). */
const NB: i32 = 32;
const PAGE: f64 = 65536;
const EPS: f64 = 1.1102230246251565e-16; // unit roundoff 2^-53
const ABSOLUTE_DEFLATION: f64 = 1e-22;
/** Bytes of row-tile panels kept in L2 by the tiled update (this machine's L2 is 1 MiB per core). */
const L2_BLOCK_BYTES: i32 = 512 * 1024;

let base: usize = 0;
let m: i32 = 0;
let stagingRows: i32 = 0; // rows the current region can stage
let pX: usize = 0;
let pRegion: usize = 0;

// ---------------------------------------------------------------------------------------------
// Layout

function align64(x: f64): f64 {
  return Math.ceil(x / 64) * 64;
}

function heapStart(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

function packedBytes(n: f64): f64 {
  return align64((n * (n + 1)) / 2 * 8);
}

function quads(n: f64): f64 {
  return Math.ceil(n / 4) * 4;
}

function gramRegionBytes(n: f64, rows: f64): f64 {
  return align64(rows * n * 8) + align64(quads(n) * rows * 8);
}

function reductionRegionBytes(n: f64): f64 {
  const panel = align64(n * <f64>NB * 8);
  const packedPanel = align64((n + 4) * <f64>(2 * NB) * 8);
  return panel + 2 * packedPanel + 2 * align64(n * 8) + 64;
}

function regionBytes(n: f64, rows: f64): f64 {
  return Math.max(gramRegionBytes(n, rows), reductionRegionBytes(n));
}

function effectiveRows(blockRows: i32): i32 {
  return blockRows < 1 ? 1 : blockRows > GRAM_BLOCK_ROWS ? GRAM_BLOCK_ROWS : blockRows;
}

/**
 * WebAssembly memory size (bytes, whole 64 KiB pages, static data included) needed to accumulate
 * and diagonalize an n x n Gram fed in blocks of at most blockRows rows.
 */
export function bytesNeeded(n: i32, blockRows: i32): f64 {
  const rows = <f64>effectiveRows(blockRows);
  const end = <f64>heapStart() + packedBytes(<f64>n) + regionBytes(<f64>n, rows);
  return Math.ceil(end / PAGE) * PAGE;
}

/**
 * bytesNeeded plus the eigenvector path's n x n doubles (eigenvectors as rows), placed after the
 * region (see eigh()).
 */
export function bytesNeededVectors(n: i32, blockRows: i32): f64 {
  const rows = <f64>effectiveRows(blockRows);
  const end = <f64>heapStart() + packedBytes(<f64>n) + regionBytes(<f64>n, rows) + align64(<f64>n * <f64>n * 8);
  return Math.ceil(end / PAGE) * PAGE;
}

/** The largest block of rows one accumulate() call takes. */
export function maxBlockRows(): i32 {
  return GRAM_BLOCK_ROWS;
}

function ensureMemory(endBytes: f64): bool {
  if (endBytes > 4294967296.0) return false;
  const have = <f64>memory.size() * PAGE;
  if (endBytes <= have) return true;
  const pages = <i32>Math.ceil((endBytes - have) / PAGE);
  return memory.grow(pages) >= 0;
}

/** Starts a new Gram of n columns (zeroed). Returns 0 if memory could not grow, else 1. */
export function begin(n: i32): i32 {
  if (n < 1) return 0;
  base = heapStart();
  const xBytes = packedBytes(<f64>n);
  if (!ensureMemory(<f64>base + xBytes)) return 0;
  m = n;
  stagingRows = 0;
  pX = base;
  pRegion = base + <usize>xBytes;
  memory.fill(pX, 0, <usize>xBytes);
  return 1;
}

/**
 * Address where the host writes the next `rows` rows of W (row-major, m doubles per row);
 * rows is at most maxBlockRows(). Returns 0 if memory could not grow.
 */
export function staging(rows: i32): usize {
  const r = effectiveRows(rows);
  if (r > stagingRows) {
    if (!ensureMemory(<f64>pRegion + regionBytes(<f64>m, <f64>r))) return 0;
    stagingRows = r;
  }
  return pRegion;
}

// ---------------------------------------------------------------------------------------------
// Packed indexing

// @ts-ignore: decorator
@inline
function colStart(j: i32, n: i32): usize {
  // j*n - j*(j-1)/2, written to stay in range for n up to 2^15
  return <usize>j * <usize>n - ((<usize>j * <usize>(j - 1)) >> 1);
}

// @ts-ignore: decorator
@inline
function at(i: i32, j: i32): usize {
  // address of X(i, j), i >= j
  return pX + ((colStart(j, m) + <usize>(i - j)) << 3);
}

// ---------------------------------------------------------------------------------------------
// 4x4-tile rank-K update of the packed lower triangle: X(q.., q..) += Σ_k a_k b_kᵀ where the
// operands come as quad panels (K records of 4 doubles per group of 4 rows/columns).

function rankUpdate(q: i32, ap: usize, bp: usize, K: i32): void {
  const n = m - q;
  const tiles = (n + 3) >> 2;
  const panelBytes = <usize>K << 5;
  // Row tiles go in blocks whose a-panels fit in L2 (about 512 KiB); each column tile's b-panel
  // then stays in L1 while it meets every row tile of the block.
  let blockTiles = <i32>((<usize>L2_BLOCK_BYTES) / panelBytes);
  if (blockTiles < 1) blockTiles = 1;
  for (let first = 0; first < tiles; first += blockTiles) {
    const last = min(first + blockTiles, tiles); // exclusive
    for (let jt = 0; jt < last; jt++) {
      const b = bp + <usize>jt * panelBytes;
      const j0 = q + (jt << 2);
      for (let it = max(jt, first); it < last; it++) {
        tile(ap + <usize>it * panelBytes, b, panelBytes, q + (it << 2), j0, it > jt);
      }
    }
  }
}

/** X(i0..i0+3, j0..j0+3) += Σ_k a_k b_kᵀ over K records of 4 doubles each. */
// @ts-ignore: decorator
@inline
function tile(a: usize, b: usize, panelBytes: usize, i0: i32, j0: i32, offDiagonal: bool): void {
  let c0l = f64x2.splat(0), c0h = f64x2.splat(0);
  let c1l = f64x2.splat(0), c1h = f64x2.splat(0);
  let c2l = f64x2.splat(0), c2h = f64x2.splat(0);
  let c3l = f64x2.splat(0), c3h = f64x2.splat(0);
  let pa = a, pb = b;
  const pend = a + panelBytes;
  while (pa < pend) {
    const al = v128.load(pa);
    const ah = v128.load(pa, 16);
    let s = v128.load64_splat(pb);
    c0l = f64x2.add(c0l, f64x2.mul(al, s));
    c0h = f64x2.add(c0h, f64x2.mul(ah, s));
    s = v128.load64_splat(pb, 8);
    c1l = f64x2.add(c1l, f64x2.mul(al, s));
    c1h = f64x2.add(c1h, f64x2.mul(ah, s));
    s = v128.load64_splat(pb, 16);
    c2l = f64x2.add(c2l, f64x2.mul(al, s));
    c2h = f64x2.add(c2h, f64x2.mul(ah, s));
    s = v128.load64_splat(pb, 24);
    c3l = f64x2.add(c3l, f64x2.mul(al, s));
    c3h = f64x2.add(c3h, f64x2.mul(ah, s));
    pa += 32;
    pb += 32;
  }
  if (offDiagonal && i0 + 3 < m && j0 + 3 < m) {
    let p = at(i0, j0);
    v128.store(p, f64x2.add(v128.load(p), c0l));
    v128.store(p, f64x2.add(v128.load(p, 16), c0h), 16);
    p = at(i0, j0 + 1);
    v128.store(p, f64x2.add(v128.load(p), c1l));
    v128.store(p, f64x2.add(v128.load(p, 16), c1h), 16);
    p = at(i0, j0 + 2);
    v128.store(p, f64x2.add(v128.load(p), c2l));
    v128.store(p, f64x2.add(v128.load(p, 16), c2h), 16);
    p = at(i0, j0 + 3);
    v128.store(p, f64x2.add(v128.load(p), c3l));
    v128.store(p, f64x2.add(v128.load(p, 16), c3h), 16);
  } else {
    addTileColumn(i0, j0, c0l, c0h);
    addTileColumn(i0, j0 + 1, c1l, c1h);
    addTileColumn(i0, j0 + 2, c2l, c2h);
    addTileColumn(i0, j0 + 3, c3l, c3h);
  }
}

/** Adds one tile column (rows i0..i0+3 of column j) lane by lane, inside the triangle only. */
function addTileColumn(i0: i32, j: i32, lo: v128, hi: v128): void {
  if (j >= m) return;
  addEntry(i0, j, f64x2.extract_lane(lo, 0));
  addEntry(i0 + 1, j, f64x2.extract_lane(lo, 1));
  addEntry(i0 + 2, j, f64x2.extract_lane(hi, 0));
  addEntry(i0 + 3, j, f64x2.extract_lane(hi, 1));
}

// @ts-ignore: decorator
@inline
function addEntry(i: i32, j: i32, value: f64): void {
  if (i >= j && i < m) {
    const p = at(i, j);
    store<f64>(p, load<f64>(p) + value);
  }
}

// ---------------------------------------------------------------------------------------------
// Gram accumulation

/** X += BᵀB for the `rows` rows the host wrote at staging(). */
export function accumulate(rows: i32): void {
  if (rows < 1) return;
  if (rows > stagingRows) unreachable(); // the host staged fewer rows: a host bug, trap loudly
  const src = pRegion;
  const bp = pRegion + <usize>align64(<f64>stagingRows * <f64>m * 8);
  const tiles = (m + 3) >> 2;
  const full = m >> 2;
  const rowBytes = <usize>m << 3;
  const panelBytes = <usize>rows << 5;
  for (let k = 0; k < rows; k++) {
    const row = src + <usize>k * rowBytes;
    let dst = bp + (<usize>k << 5);
    for (let t = 0; t < full; t++) {
      const s = row + (<usize>t << 5);
      v128.store(dst, v128.load(s));
      v128.store(dst, v128.load(s, 16), 16);
      dst += panelBytes;
    }
    if (full < tiles) {
      for (let c = 0; c < 4; c++) {
        const col = (full << 2) + c;
        store<f64>(dst + (<usize>c << 3), col < m ? load<f64>(row + (<usize>col << 3)) : 0.0);
      }
    }
  }
  rankUpdate(0, bp, bp, rows);
}

// ---------------------------------------------------------------------------------------------
// Level-1/2 helpers on contiguous doubles (unaligned f64x2)

function scale(alpha: f64, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(x + o, alpha * load<f64>(x + o));
  }
}

/**
 * w(s..m-1) = A(s.., s..) v(s..) for the packed trailing block starting at s. `v` and `w` are
 * addressed by global row index (v + 8i is v_i). Four columns per pass: every loaded element of A
 * feeds both w_i += A_ij v_j (the column's axpy) and t_j += A_ij v_i (its dot product).
 */
function symv(s: i32, v: usize, w: usize): void {
  for (let i = s; i < m; i++) store<f64>(w + (<usize>i << 3), 0.0);
  let j = s;
  for (; j + 4 <= m; j += 4) {
    // 4x4 diagonal block, scalar
    for (let c = 0; c < 4; c++) {
      const jc = j + c;
      const vj = load<f64>(v + (<usize>jc << 3));
      let t = load<f64>(at(jc, jc)) * vj;
      for (let r = jc + 1; r < j + 4; r++) {
        const a = load<f64>(at(r, jc));
        t += a * load<f64>(v + (<usize>r << 3));
        const pw = w + (<usize>r << 3);
        store<f64>(pw, load<f64>(pw) + a * vj);
      }
      const pw = w + (<usize>jc << 3);
      store<f64>(pw, load<f64>(pw) + t);
    }
    // rows j+4.. of the four columns
    const start = j + 4;
    const p0 = at(start, j) - (<usize>start << 3);
    const p1 = at(start, j + 1) - (<usize>start << 3);
    const p2 = at(start, j + 2) - (<usize>start << 3);
    const p3 = at(start, j + 3) - (<usize>start << 3);
    const v0 = v128.load64_splat(v + (<usize>j << 3));
    const v1 = v128.load64_splat(v + (<usize>(j + 1) << 3));
    const v2 = v128.load64_splat(v + (<usize>(j + 2) << 3));
    const v3 = v128.load64_splat(v + (<usize>(j + 3) << 3));
    let t0 = f64x2.splat(0), t1 = f64x2.splat(0), t2 = f64x2.splat(0), t3 = f64x2.splat(0);
    let i = start;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      const vi = v128.load(v + o);
      const a0 = v128.load(p0 + o);
      const a1 = v128.load(p1 + o);
      const a2 = v128.load(p2 + o);
      const a3 = v128.load(p3 + o);
      t0 = f64x2.add(t0, f64x2.mul(a0, vi));
      t1 = f64x2.add(t1, f64x2.mul(a1, vi));
      t2 = f64x2.add(t2, f64x2.mul(a2, vi));
      t3 = f64x2.add(t3, f64x2.mul(a3, vi));
      let wi = v128.load(w + o);
      wi = f64x2.add(wi, f64x2.add(f64x2.mul(a0, v0), f64x2.mul(a1, v1)));
      wi = f64x2.add(wi, f64x2.add(f64x2.mul(a2, v2), f64x2.mul(a3, v3)));
      v128.store(w + o, wi);
    }
    let s0 = f64x2.extract_lane(t0, 0) + f64x2.extract_lane(t0, 1);
    let s1 = f64x2.extract_lane(t1, 0) + f64x2.extract_lane(t1, 1);
    let s2 = f64x2.extract_lane(t2, 0) + f64x2.extract_lane(t2, 1);
    let s3 = f64x2.extract_lane(t3, 0) + f64x2.extract_lane(t3, 1);
    for (; i < m; i++) {
      const o = <usize>i << 3;
      const vi = load<f64>(v + o);
      const a0 = load<f64>(p0 + o), a1 = load<f64>(p1 + o);
      const a2 = load<f64>(p2 + o), a3 = load<f64>(p3 + o);
      s0 += a0 * vi;
      s1 += a1 * vi;
      s2 += a2 * vi;
      s3 += a3 * vi;
      store<f64>(
        w + o,
        load<f64>(w + o) +
          a0 * f64x2.extract_lane(v0, 0) +
          a1 * f64x2.extract_lane(v1, 0) +
          a2 * f64x2.extract_lane(v2, 0) +
          a3 * f64x2.extract_lane(v3, 0),
      );
    }
    const pw = w + (<usize>j << 3);
    store<f64>(pw, load<f64>(pw) + s0);
    store<f64>(pw, load<f64>(pw, 8) + s1, 8);
    store<f64>(pw, load<f64>(pw, 16) + s2, 16);
    store<f64>(pw, load<f64>(pw, 24) + s3, 24);
  }
  // last (fewer than 4) columns
  for (; j < m; j++) {
    const vj = load<f64>(v + (<usize>j << 3));
    let t = load<f64>(at(j, j)) * vj;
    for (let r = j + 1; r < m; r++) {
      const a = load<f64>(at(r, j));
      t += a * load<f64>(v + (<usize>r << 3));
      const pw = w + (<usize>r << 3);
      store<f64>(pw, load<f64>(pw) + a * vj);
    }
    const pw = w + (<usize>j << 3);
    store<f64>(pw, load<f64>(pw) + t);
  }
}

// ---------------------------------------------------------------------------------------------
// Blocked tridiagonalization (dsytrd/dlatrd, lower, packed)

let pW: usize = 0; // m x NB, column-major, leading dimension m
let pUp: usize = 0;
let pZp: usize = 0;
let pD: usize = 0;
let pE: usize = 0;

// @ts-ignore: decorator
@inline
function wCol(k: i32): usize {
  return pW + ((<usize>k * <usize>m) << 3);
}

/**
 * One panel of nb columns starting at p: leaves the reflectors in A's columns (explicit 1 on the
 * subdiagonal), d and e of those columns in pD/pE, and W in pW.
 */
function panel(p: i32, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    const c = p + i;
    const len = m - c;
    const colC = at(c, c);
    // bring column c (rows c..) up to date with this panel's earlier reflectors
    for (let k = 0; k < i; k++) {
      const vk = at(c, p + k); // V(c.., k)
      const wk = wCol(k) + (<usize>c << 3); // W(c.., k)
      axpy(-load<f64>(wk), vk, colC, len);
      axpy(-load<f64>(vk), wk, colC, len);
    }
    store<f64>(pD + (<usize>c << 3), load<f64>(colC));
    if (c == m - 1) break;
    // reflector annihilating A(c+2.., c)
    const x = colC + 8;
    const alpha = load<f64>(x);
    const xnorm2 = dot(x + 8, x + 8, len - 2);
    let tau: f64 = 0;
    if (xnorm2 == 0) {
      store<f64>(pE + (<usize>c << 3), alpha);
    } else {
      const beta = -copysign<f64>(Math.sqrt(alpha * alpha + xnorm2), alpha);
      tau = (beta - alpha) / beta;
      scale(1.0 / (alpha - beta), x + 8, len - 2);
      store<f64>(pE + (<usize>c << 3), beta);
    }
    // The diagonal slot of a finished column is never read again: it keeps tau for the
    // eigenvector path, which rebuilds Q from the reflectors (vectors.ts).
    store<f64>(colC, tau);
    store<f64>(x, 1.0);
    // w = tau (A v - V (Wᵀ v) - W (Vᵀ v)) - (tau/2)(wᵀ v) v, rows c+1..
    const s = c + 1;
    const v = x - (<usize>s << 3); // v + 8r is v_r
    const w = wCol(i);
    if (tau == 0) {
      for (let r = s; r < m; r++) store<f64>(w + (<usize>r << 3), 0.0);
      continue;
    }
    symv(s, v, w);
    const off = <usize>s << 3;
    for (let k = 0; k < i; k++) {
      const vk = at(s, p + k);
      const wk = wCol(k) + off;
      const wTv = dot(wk, x, m - s);
      const vTv = dot(vk, x, m - s);
      axpy(-wTv, vk, w + off, m - s);
      axpy(-vTv, wk, w + off, m - s);
    }
    scale(tau, w + off, m - s);
    const alpha2 = -0.5 * tau * dot(w + off, x, m - s);
    axpy(alpha2, x, w + off, m - s);
  }
}

/** Packs Up = [V W] and Zp = -[W V] (rows q..) quad by quad for the trailing rank-2k update. */
function packPanels(p: i32, nb: i32, q: i32): void {
  const n = m - q;
  const tiles = (n + 3) >> 2;
  const K = nb << 1;
  const panelBytes = <usize>K << 5;
  for (let t = 0; t < tiles; t++) {
    const up = pUp + <usize>t * panelBytes;
    const zp = pZp + <usize>t * panelBytes;
    for (let r = 0; r < 4; r++) {
      const row = q + (t << 2) + r;
      const ro = <usize>r << 3;
      for (let k = 0; k < nb; k++) {
        let vv: f64 = 0, ww: f64 = 0;
        if (row < m) {
          vv = load<f64>(at(row, p + k));
          ww = load<f64>(wCol(k) + (<usize>row << 3));
        }
        store<f64>(up + (<usize>k << 5) + ro, vv);
        store<f64>(up + (<usize>(k + nb) << 5) + ro, ww);
        store<f64>(zp + (<usize>k << 5) + ro, -ww);
        store<f64>(zp + (<usize>(k + nb) << 5) + ro, -vv);
      }
    }
  }
}

function tridiagonalize(): void {
  let p = 0;
  while (m - p > 2 * NB) {
    panel(p, NB);
    const q = p + NB;
    packPanels(p, NB, q);
    rankUpdate(q, pUp, pZp, 2 * NB);
    p = q;
  }
  panel(p, m - p);
}

// ---------------------------------------------------------------------------------------------
// Eigenvalues of the symmetric tridiagonal (d, e): root-free implicit QL (Pal-Walker-Kahan)

/** Returns false if some eigenvalue needed more than 30 sweeps on average (never seen). */
function tridiagonalEigenvalues(): bool {
  const n = m;
  for (let i = 0; i + 1 < n; i++) {
    const pe = pE + (<usize>i << 3);
    const e = load<f64>(pe);
    store<f64>(pe, e * e);
  }
  const eps2 = EPS * EPS;
  const absolute2 = ABSOLUTE_DEFLATION * ABSOLUTE_DEFLATION;
  let budget = 30 * n;
  for (let l = 0; l < n; l++) {
    while (true) {
      // smallest mEnd >= l with a negligible e(mEnd) (the block l..mEnd is unreduced)
      let mEnd = l;
      while (mEnd < n - 1) {
        const e2 = load<f64>(pE + (<usize>mEnd << 3));
        const dm = load<f64>(pD + (<usize>mEnd << 3));
        const dn = load<f64>(pD + (<usize>(mEnd + 1) << 3));
        if (e2 <= eps2 * Math.abs(dm * dn) || e2 <= absolute2) {
          store<f64>(pE + (<usize>mEnd << 3), 0.0);
          break;
        }
        mEnd++;
      }
      if (mEnd == l) break;
      if (--budget < 0) return false;
      // shift: eigenvalue of the leading 2x2 block nearer to d(l)
      const dl = load<f64>(pD + (<usize>l << 3));
      const rte = Math.sqrt(load<f64>(pE + (<usize>l << 3)));
      const g = (load<f64>(pD + (<usize>(l + 1) << 3)) - dl) / (2 * rte);
      const r = Math.hypot(g, 1.0);
      const sigma = dl - rte / (g + copysign<f64>(r, g));
      // one root-free QL sweep from the bottom of the block up to l
      let c: f64 = 1, s: f64 = 0;
      let gamma = load<f64>(pD + (<usize>mEnd << 3)) - sigma;
      let pp = gamma * gamma;
      for (let i = mEnd - 1; i >= l; i--) {
        const bb = load<f64>(pE + (<usize>i << 3));
        const rr = pp + bb;
        if (i != mEnd - 1) store<f64>(pE + (<usize>(i + 1) << 3), s * rr);
        const oldc = c;
        c = pp / rr;
        s = bb / rr;
        const oldgam = gamma;
        const alpha = load<f64>(pD + (<usize>i << 3));
        gamma = c * (alpha - sigma) - s * oldgam;
        store<f64>(pD + (<usize>(i + 1) << 3), oldgam + (alpha - gamma));
        pp = c != 0 ? (gamma * gamma) / c : oldc * bb;
      }
      store<f64>(pE + (<usize>l << 3), s * pp);
      store<f64>(pD + (<usize>l << 3), sigma + gamma);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

/**
 * Eigenvalues of the accumulated X (unsorted, m doubles at the returned address).
 * Returns 0 if X has a NaN or infinite entry, 1 if memory could not grow, 2 if QL failed.
 */
export function eigvalsh(): usize {
  if (!ensureMemory(<f64>pRegion + reductionRegionBytes(<f64>m))) return 1;
  layOutReduction();
  const up = scaleToUnitRange();
  if (isNaN(up)) return 0;
  if (up == 0) {
    memory.fill(pD, 0, <usize>m << 3);
    return pD;
  }
  tridiagonalize();
  if (!tridiagonalEigenvalues()) return 2;
  scale(up, pD, m);
  return pD;
}

/** Address of the eigenvectors eigh() computed (row i belongs to eigenvalue i), valid until begin(). */
let pVectors: usize = 0;

/**
 * Eigenvalues (unsorted, m doubles at the returned address) and eigenvectors (m x m row-major at
 * eigenvectors(), row i a unit eigenvector of eigenvalue i) of the accumulated X. Same reduction
 * as eigvalsh(), then vectors.ts. Returns 0 if X has a NaN or infinite entry, 1 if memory could
 * not grow, 2 if QL failed.
 */
export function eigh(): usize {
  const region = Math.max(gramRegionBytes(<f64>m, <f64>stagingRows), reductionRegionBytes(<f64>m));
  const vectorsAt = pRegion + <usize>align64(region);
  if (!ensureMemory(<f64>vectorsAt + <f64>m * <f64>m * 8)) return 1;
  pVectors = vectorsAt;
  layOutReduction();
  const up = scaleToUnitRange();
  if (isNaN(up)) return 0;
  if (up == 0) {
    // X = 0: every vector is an eigenvector; the identity is the answer LAPACK gives
    memory.fill(pD, 0, <usize>m << 3);
    memory.fill(pVectors, 0, (<usize>m * <usize>m) << 3);
    for (let i = 0; i < m; i++) store<f64>(pVectors + ((<usize>i * <usize>m + <usize>i) << 3), 1.0);
    return pD;
  }
  tridiagonalize();
  reflectorProductTransposed(pX, m, pVectors);
  if (!tridiagonalEigenpairs(pD, pE, pVectors, m)) return 2;
  scale(up, pD, m);
  return pD;
}

/** Where eigh() left the eigenvectors. */
export function eigenvectors(): usize {
  return pVectors;
}

/** Places the reduction's workspace (W, Up, Zp, d, e) at the start of the region. */
function layOutReduction(): void {
  pW = pRegion;
  pUp = pW + <usize>align64(<f64>m * <f64>NB * 8);
  pZp = pUp + <usize>align64(<f64>(m + 4) * <f64>(2 * NB) * 8);
  pD = pZp + <usize>align64(<f64>(m + 4) * <f64>(2 * NB) * 8);
  pE = pD + <usize>align64(<f64>m * 8);
}

/**
 * Scales X by a power of two (exact) so that max|X_ij| is in [0.5, 1) and returns the factor that
 * scales the eigenvalues back; NaN (X untouched) if X has a NaN or infinite entry, 0 if X = 0.
 */
function scaleToUnitRange(): f64 {
  const count = colStart(m, m);
  let maxAbs: f64 = 0;
  for (let i: usize = 0; i < count; i++) {
    const a = Math.abs(load<f64>(pX + (i << 3)));
    if (!(a <= maxAbs)) {
      // a NaN lands here too, and must not be overwritten by a later finite maximum
      if (isNaN(a)) return NaN;
      maxAbs = a;
    }
  }
  if (!isFinite(maxAbs)) return NaN;
  if (maxAbs == 0) return 0;
  // clamped so both factors stay normal numbers (Gram entries never get near these bounds)
  const exponent = <i32>Math.max(-1000, Math.min(1000, Math.floor(Math.log2(maxAbs)) + 1));
  const down = pow2(-exponent);
  for (let i: usize = 0; i < count; i++) {
    const a = pX + (i << 3);
    store<f64>(a, load<f64>(a) * down);
  }
  return pow2(exponent);
}

function pow2(k: i32): f64 {
  // exact 2^k for |k| <= 1023 (NaN never reaches here)
  return reinterpret<f64>(<i64>(k + 1023) << 52);
}
