/**
 * The upper incomplete gamma function Γ(s, z) = ∫_z^∞ t^(s−1) e^(−t) dt for real s (any sign) and
 * z > 0, accurate to ~1e-14 relative. The truncated power law (spec §7.2) needs it at s = 1 − α,
 * usually negative and often within 1e-9 of 0, where the textbook recurrence
 * Γ(s, z) = (Γ(s+1, z) − z^s e^(−z)) / s cancels catastrophically; the small-s branch below is
 * built to stay accurate there.
 *
 * Branches:
 * - z > max(1, s + 1): Legendre's continued fraction (modified Lentz), convergent for every real s
 *   and fast once z is past the turning point of the integrand;
 * - otherwise, with s₀ = s − round(s) ∈ [−0.5, 0.5]:
 *     Γ(s₀, z) = [(Γ(1+s₀) − 1) − (z^s₀ − 1)] / s₀ − z^s₀ Σ_{k≥1} (−z)^k / (k!(s₀+k)),
 *   where both bracketed differences are computed without cancellation (gamma1pm1, expm1), then
 *   the recurrence walks from s₀ to s: downwards for negative s (stable for z ≤ 1: each step
 *   divides the carried error by |s|·(1 + |s|/z) ≥ 1), upwards for positive s (a sum of
 *   positive terms).
 */

/** Euler–Mascheroni constant γ = −Γ'(1). */
export const EULER_GAMMA = 0.5772156649015329;

const ZETA_TERMS = 60;

/** ζ(k) − 1 for k = 0 … ZETA_TERMS (entries 0 and 1 unused): the coefficients of ln Γ(1+s). */
const ZETA_MINUS_ONE: Float64Array = (() => {
  const table = new Float64Array(ZETA_TERMS + 1);
  const N = 64;
  for (let k = 2; k <= ZETA_TERMS; k++) {
    // Σ_{n=2}^{N−1} n^−k summed smallest first, then the Euler–Maclaurin tail from N to ∞
    // (its first neglected term is below 1e-30 for k >= 2 and N = 64).
    let sum = 0;
    for (let n = N - 1; n >= 2; n--) sum += Math.pow(n, -k);
    const tail =
      Math.pow(N, 1 - k) / (k - 1) +
      Math.pow(N, -k) / 2 +
      (k * Math.pow(N, -k - 1)) / 12 -
      (k * (k + 1) * (k + 2) * Math.pow(N, -k - 3)) / 720 +
      (k * (k + 1) * (k + 2) * (k + 3) * (k + 4) * Math.pow(N, -k - 5)) / 30240;
    table[k] = sum + tail;
  }
  return table;
})();

/**
 * ln Γ(1 + s) for |s| <= 0.5 from its Taylor series:
 *   ln Γ(1+s) = −γs − ln(1+s) + s + Σ_{k≥2} (ζ(k) − 1)(−s)^k / k,
 * the ζ(k) − 1 ≈ 2^−k form converging like (s/2)^k.
 */
function logGamma1p(s: number): number {
  let series = 0;
  let power = s * s;
  for (let k = 2; k <= ZETA_TERMS; k++) {
    const term = (ZETA_MINUS_ONE[k]! * power) / k;
    series += k % 2 === 0 ? term : -term;
    if (Math.abs(term) < 1e-18 * Math.abs(series)) break;
    power *= s;
  }
  // s − ln(1+s) = −Σ_{k≥2} (−s)^k/k; log1p keeps it exact to rounding for small s.
  return -EULER_GAMMA * s + (s - Math.log1p(s)) + series;
}

/** Γ(1 + s) − 1 for |s| <= 0.5, accurate relative to the (small) result. */
export function gamma1pm1(s: number): number {
  if (!(Math.abs(s) <= 0.5)) throw new RangeError(`gamma1pm1: |s| = ${Math.abs(s)} is outside [0, 0.5]`);
  return Math.expm1(logGamma1p(s));
}

/** z^s e^−z without spurious overflow or underflow of the factors. */
function powExp(s: number, z: number): number {
  const power = Math.pow(z, s);
  const decay = Math.exp(-z);
  const product = power * decay;
  if (Number.isFinite(power) && power !== 0 && decay !== 0 && product !== 0 && Number.isFinite(product)) return product;
  return Math.exp(s * Math.log(z) - z);
}

/** Γ(s, z) by Legendre's continued fraction, evaluated with the modified Lentz method. */
function continuedFraction(s: number, z: number): number {
  const tiny = 1e-300;
  let b = z + 1 - s;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const a = -i * (i - s);
    b += 2;
    d = a * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return powExp(s, z) * h;
}

/** Γ(s₀, z) for |s₀| <= 0.5 and 0 < z <= 1 (see the file comment). */
function smallOrderSeries(s0: number, z: number): number {
  const logZ = Math.log(z);
  const head = s0 === 0 ? -EULER_GAMMA - logZ : (gamma1pm1(s0) - Math.expm1(s0 * logZ)) / s0;
  // Σ_{k≥1} (−z)^k / (k! (s₀ + k)); the terms fall at least like z^k/k!.
  let sum = 0;
  let power = 1;
  for (let k = 1; k < 200; k++) {
    power *= -z / k;
    const term = power / (s0 + k);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return head - Math.pow(z, s0) * sum;
}

/** Γ(s) for s > 0.5 from Γ(1 + s₀) = 1 + gamma1pm1(s₀) and the recurrence Γ(a+1) = aΓ(a). */
function gammaPositive(s: number): number {
  const n = Math.round(s);
  const s0 = s - n;
  let value = 1 + gamma1pm1(s0); // Γ(1 + s₀)
  if (n === 0) return value / s; // s < 0.5: Γ(s) = Γ(1 + s) / s
  for (let a = 1 + s0; a < s - 0.25; a += 1) value *= a;
  return value;
}

/**
 * Γ(s, z) for real s and z > 0 (z = 0 gives Γ(s) for s > 0 and +∞ otherwise). Returns 0 when
 * the value underflows and +∞ when it overflows, as a float conversion of the exact value would.
 */
export function upperIncompleteGamma(s: number, z: number): number {
  if (Number.isNaN(s) || Number.isNaN(z) || z < 0) return NaN;
  if (z === Infinity) return 0;
  if (z === 0) return s > 0 ? gammaPositive(s) : Infinity;
  if (z > 1 && z > s + 1) return continuedFraction(s, z);
  if (s > 0.5) {
    // z <= s + 1: Γ(s) − γ(s, z). Q(s, z) >= Q(0.5, 1) ≈ 0.157 for z <= 1, so the subtraction costs
    // under one digit there; the recurrence up from a small order would cancel catastrophically
    // for tiny z (Γ(a, z) ~ z^a / −a against z^a e^−z).
    // γ(s, z) = z^s e^−z Σ_{k≥0} z^k / (s(s+1)…(s+k)).
    let term = 1 / s;
    let sum = term;
    for (let k = 1; k < 100000; k++) {
      term *= z / (s + k);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return gammaPositive(s) - powExp(s, z) * sum;
  }
  // s <= 0.5 and z <= 1: the small-order series at s₀, then down to s.
  const n = Math.round(-s); // s = s₀ − n, s₀ ∈ [−0.5, 0.5]; exact (Sterbenz) for n >= 1
  const s0 = s + n;
  let value = smallOrderSeries(s0, z);
  for (let k = 1; k <= n; k++) {
    const a = s + (n - k); // Γ(a, z) = (Γ(a+1, z) − z^a e^−z) / a
    value = (value - powExp(a, z)) / a;
  }
  return value;
}
