/** Model families: summaries, rank statistics and rankings over a series of checkpoints. */
export * from "./analyze-series.js";
export * from "./checkpoint-summary.js";
export * from "./labels.js";
export * from "./labelling.js";
export * from "./metric-association.js";
export * from "./noise.js";
export * from "./rank-correlation.js";
export * from "./least-squares.js";
export { normalTwoSided, studentTTwoSided } from "./distributions.js";
