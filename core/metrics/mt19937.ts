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

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

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
