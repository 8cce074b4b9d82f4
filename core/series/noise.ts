/**
 * Is a family's spread of test accuracies distinguishable from the noise of measuring accuracy
 * on a finite test set?
 *
 * An accuracy (or error rate) measured on n test samples is a binomial proportion with standard
 * error SE = sqrt(p(1 − p)/n). The best and the worst checkpoints of a family differ by the range R;
 * the difference of two independent such proportions has standard error √2·SE. When
 * R < NOISE_SE_MULTIPLE·SE (= 2·SE), the two extremes are less than 1.42 standard errors of their
 * difference apart: not distinguishable at any usual level, so the order of the members is mostly noise
 * and no conclusion about a metric's ranking can be drawn from it.
 */

/** Ranges below this many binomial standard errors are treated as noise. */
export const NOISE_SE_MULTIPLE = 2;

export type TargetKind = "proportion" | "other";

export interface NoiseAssessment {
  /** False when the rule does not apply (the target is not a proportion, or no test-set size is known). */
  assessed: boolean;
  /** max − min of the target over the checkpoints considered. */
  range: number;
  /** Binomial standard error at the mean proportion and the smallest test set; null when not assessed. */
  standard_error: number | null;
  /** NOISE_SE_MULTIPLE × standard_error; null when not assessed. */
  threshold: number | null;
  within_noise: boolean;
  /** One sentence for people. */
  explanation: string;
}

export interface NoiseInput {
  targets: readonly number[];
  /** Test-set size behind each target (null: unknown). */
  test_sizes: ReadonlyArray<number | null>;
  kind: TargetKind;
}

export function assessNoise({ targets, test_sizes, kind }: NoiseInput): NoiseAssessment {
  const range = targets.length === 0 ? 0 : Math.max(...targets) - Math.min(...targets);
  const notAssessed = (why: string): NoiseAssessment => ({
    assessed: false,
    range,
    standard_error: null,
    threshold: null,
    // A target that does not vary has nothing to rank, whatever its kind.
    within_noise: targets.length > 0 && range === 0,
    explanation: range === 0 && targets.length > 0 ? "the target has the same value for every checkpoint" : why,
  });
  if (kind !== "proportion") return notAssessed("the target is not a proportion of test samples, so its noise is not assessed");
  if (targets.some((t) => t < 0 || t > 1)) return notAssessed("the target has values outside [0, 1], so it is not treated as a proportion");
  const sizes = test_sizes.filter((s): s is number => s !== null && Number.isFinite(s) && s > 0);
  if (sizes.length < targets.length || targets.length === 0) {
    return notAssessed("the test-set size is not known for every checkpoint (--test-size or a test_size column), so the noise is not assessed");
  }
  const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
  // The smallest test set gives the largest (most cautious) standard error.
  const n = Math.min(...sizes);
  const standardError = Math.sqrt((mean * (1 - mean)) / n);
  const threshold = NOISE_SE_MULTIPLE * standardError;
  const withinNoise = range < threshold || range === 0;
  const numbers = `range ${fmt(range)} vs ${NOISE_SE_MULTIPLE} × SE ${fmt(standardError)} = ${fmt(threshold)} (binomial, n = ${n})`;
  return {
    assessed: true,
    range,
    standard_error: standardError,
    threshold,
    within_noise: withinNoise,
    explanation: withinNoise ? `within noise: ${numbers}` : `above noise: ${numbers}`,
  };
}

function fmt(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
