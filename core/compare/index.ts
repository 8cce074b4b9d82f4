/** Comparison of two reports under a regression policy. */
export { compareReports } from "./compare-reports.js";
export * from "./comparison.js";
export { DEFAULT_POLICY, POLICY_SCHEMA, resolvePolicy, type Policy, type PolicyOverrides, type Severity, type AlphaRiseRule, type AlphaRiseThreshold } from "./policy.js";
export { matchLayers, type LayerMatching, type LayerPair, type MatchKind } from "./match.js";
export { canonicalLayerName, stripParameterSuffix } from "./names.js";
