/**
 * numpy's legacy global generator (np.random.seed(int) + np.random.shuffle): MT19937 seeded by
 * init_genrand, and the Fisher-Yates shuffle with numpy's masked-rejection bounded draw. This is
 * what weightwatcher's `randomize` consumes, so with the same seed the same permutations come out
 * (spec §4.1; vectors in oracle/golden/rng_vectors.json).
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A generator's full state, to resume it elsewhere (e.g. in another thread). */
export interface MT19937State {
  key: Uint32Array;
  index: number;
}

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** np.random.seed(array of uint32): init_by_array on top of init_genrand(19650218). */
  static fromKey(key: readonly number[]): MT19937 {
    if (key.length === 0) throw new RangeError("MT19937.fromKey: empty key");
    const rng = new MT19937(19650218);
    const mt = rng.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + (key[j]! >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    rng.index = N;
    return rng;
  }

  /** Resumes a generator from a state taken with `state()`. */
  static fromState(state: MT19937State): MT19937 {
    if (state.key.length !== N || !(state.index >= 0 && state.index <= N)) throw new RangeError("MT19937.fromState: malformed state");
    const rng = new MT19937(0);
    rng.mt.set(state.key);
    rng.index = state.index;
    return rng;
  }

  state(): MT19937State {
    return { key: Uint32Array.from(this.mt), index: this.index };
  }

  /** np.random.seed(seed) for an integer seed in [0, 2³²): init_genrand, not init_by_array. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`MT19937 seed ${seed} is not an integer in [0, 2^32)`);
    }
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 · prev + i modulo 2³² (Math.imul keeps the low 32 bits exactly).
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  /** The next 32-bit output (genrand_int32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & UPPER_MASK) | (mt[(k + 1) % N]! & LOWER_MASK);
      mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }

  /**
   * A uniform integer in [0, max] by numpy's legacy rule: mask = max with every lower bit set,
   * draw 32-bit outputs until (v & mask) <= max.
   */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max > 0xffffffff) throw new RangeError(`randomInterval(${max}): bounds above 2^32 - 1 are not supported`);
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** np.random.shuffle of a 1-D array, in place: for i = n−1 … 1, swap a[i] and a[j], j in [0, i]. */
  shuffle(values: { length: number; [index: number]: number }): void {
    for (let i = values.length - 1; i >= 1; i--) {
      const j = this.randomInterval(i);
      const t = values[i]!;
      values[i] = values[j]!;
      values[j] = t;
    }
  }
}
