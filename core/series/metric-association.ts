/**
 * How one summary metric goes with the target over a set of checkpoints: rank correlations with
 * p-values, the least-squares line, and whether "smaller is better" holds, stated only when the data
 * can support it.
 */
import { leastSquaresLine, type LeastSquaresLine } from "./least-squares.js";
import type { NoiseAssessment } from "./noise.js";
import { rankCorrelation, type RankCorrelation } from "./rank-correlation.js";

/** Two-sided level below which a rank correlation counts as a finding (the common convention). */
export const SIGNIFICANCE_LEVEL = 0.05;

/** Fewer checkpoints than this cannot show a trend. */
export const MIN_CHECKPOINTS = 3;

export type TargetBetter = "higher" | "lower";

/** The rank correlations and the least-squares line of the metric against the target, and what they say. */
export interface MetricAssociation extends RankCorrelation, LeastSquaresLine {
  /** Checkpoints with both a metric value and a target. */
  n: number;
  /** The sign of the Spearman correlation read against the target: which metric values go with the better target. */
  direction: "smaller is better" | "larger is better" | null;
  /** true/false: "smaller is better" holds / is contradicted, significantly; null: no conclusion (see `conclusion`). */
  smaller_is_better: boolean | null;
  conclusion: string;
}

export interface AssociationPoint {
  metric: number | null;
  target: number;
}

export function metricAssociation(points: readonly AssociationPoint[], better: TargetBetter, noise: NoiseAssessment): MetricAssociation {
  const usable = points.filter((p): p is { metric: number; target: number } => p.metric !== null && Number.isFinite(p.metric));
  const x = usable.map((p) => p.metric);
  const y = usable.map((p) => p.target);
  const ranks = rankCorrelation(x, y);
  const line = leastSquaresLine(x, y);
  const base = { ...ranks, ...line, n: usable.length };
  let direction: MetricAssociation["direction"] = null;
  if (ranks.spearman !== null && ranks.spearman !== 0) {
    // With a higher-is-better target, a negative correlation means smaller metric values go with better checkpoints.
    const smallerGoesWithBetter = better === "higher" ? ranks.spearman < 0 : ranks.spearman > 0;
    direction = smallerGoesWithBetter ? "smaller is better" : "larger is better";
  }
  const none = (conclusion: string): MetricAssociation => ({ ...base, direction, smaller_is_better: null, conclusion });
  if (noise.within_noise) return none(`no conclusion: the target's spread is within its noise (${noise.explanation})`);
  if (usable.length < MIN_CHECKPOINTS) return none(`no conclusion: ${usable.length} checkpoints with a value, at least ${MIN_CHECKPOINTS} are needed`);
  if (ranks.spearman === null || ranks.spearman_p === null) return none("no conclusion: the metric does not vary across these checkpoints");
  const p = formatP(ranks.spearman_p);
  if (direction === null || ranks.spearman_p >= SIGNIFICANCE_LEVEL) {
    return none(`no conclusion: the rank correlation is not significant (Spearman ${signed(ranks.spearman)}, p = ${p})`);
  }
  const holds = direction === "smaller is better";
  return {
    ...base,
    direction,
    smaller_is_better: holds,
    conclusion: holds
      ? `smaller is better holds (Spearman ${signed(ranks.spearman)}, p = ${p})`
      : `smaller is better does not hold: larger values go with the better target (Spearman ${signed(ranks.spearman)}, p = ${p})`,
  };
}

export function signed(value: number): string {
  const text = value.toFixed(2);
  return value > 0 ? `+${text}` : text;
}

export function formatP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : Number(p.toPrecision(2)).toString();
}
