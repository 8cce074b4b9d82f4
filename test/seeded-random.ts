/**
 * Seeded pseudo-random numbers for tests: the same seed gives the same sequence on every platform,
 * so fixtures, fuzzing mutations and random matrices reproduce (tests compare against values and
 * name the seed of a failing iteration). mulberry32 (small, well mixed) serves most tests; the
 * LCG and xorshift32 streams keep the exact data of the tests written with them.
 */

/** mulberry32: uniform values in [0, 1), multiples of 2^-32. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 shifted to uniform(-0.5, 0.5): zero-mean entries for random matrices. */
export function centeredRandom(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() - 0.5;
}

/** A dense row-major `rows` x `cols` matrix of centeredRandom(seed) entries. */
export function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const next = centeredRandom(seed);
  return Float64Array.from({ length: rows * cols }, () => next());
}

/**
 * The C library's linear congruential generator (a = 1103515245, c = 12345, modulo 2^32) shifted
 * to uniform(-0.5, 0.5): the cheapest stream for filling large files with full-rank data.
 */
export function lcgCentered(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296 - 0.5;
  };
}

/** Marsaglia's xorshift32 (shifts 13, 17, 5) shifted to uniform(-0.5, 0.5); `seed` must not be 0. */
export function xorshiftCentered(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296 - 0.5;
  };
}
