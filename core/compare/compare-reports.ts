/**
 * compareReports: pairs the layers of two reports, measures what changed and applies a policy.
 */
import type { LayerRecord, Report } from "../report.js";
import {
  COMPARISON_SCHEMA_VERSION,
  DELTA_METRICS,
  type Comparison,
  type ComparisonSide,
  type ComparisonSummary,
  type DeltaMetric,
  type Finding,
  type LayerComparison,
  type MetricChange,
  type Verdict,
} from "./comparison.js";
import { matchLayers, type LayerPair } from "./match.js";
import { resolvePolicy, type AlphaRiseThreshold, type Policy, type PolicyOverrides, type Severity } from "./policy.js";

export function compareReports(base: Report, head: Report, policy: PolicyOverrides = {}): Comparison {
  const rules = resolvePolicy(policy);
  const matching = matchLayers(base.layers, head.layers);
  const layers = matching.pairs.map((pair) => compareLayer(pair, rules));

  const findings: Finding[] = [];
  const summary = summarize(layers, matching.added.length, matching.removed.length);
  findings.push(...meanAlphaFindings(summary, rules));
  findings.push(...structureFindings(matching.removed, rules));
  for (const layer of layers) findings.push(...layer.findings);
  for (const layer of matching.added) {
    findings.push({ rule: "structure", severity: "info", layer: layer.name, message: `${layer.name}: new layer in head (not in base).` });
  }

  const verdict = worstVerdict(findings);
  return {
    schemaVersion: COMPARISON_SCHEMA_VERSION,
    verdict,
    reasons: reasonsFor(verdict, findings, layers),
    policy: rules,
    base: describeSide(base),
    head: describeSide(head),
    summary,
    layers,
    added: matching.added,
    removed: matching.removed,
    findings,
  };
}

function compareLayer({ base, head, match }: LayerPair, policy: Policy): LayerComparison {
  const changes = {} as Record<DeltaMetric, MetricChange>;
  for (const metric of DELTA_METRICS) changes[metric] = change(metricValue(base, metric), metricValue(head, metric));

  const sigmaBase = fittedValue(base, base.sigma);
  const sigmaHead = fittedValue(head, head.sigma);
  const sigma_combined = sigmaBase === null || sigmaHead === null ? null : Math.hypot(sigmaBase, sigmaHead);
  const alphaDelta = changes.alpha.delta;
  const alpha_z = alphaDelta === null || sigma_combined === null || sigma_combined === 0 ? null : alphaDelta / sigma_combined;

  const baseWarnings = warningSet(base.warning);
  const headWarnings = warningSet(head.warning);
  const deciding = Math.min(base.num_evals, head.num_evals) >= policy.min_evals;

  const layer: LayerComparison = {
    name: head.name,
    base_name: base.name,
    match,
    base_layer_id: base.layer_id,
    head_layer_id: head.layer_id,
    changes,
    sigma_combined,
    alpha_z,
    warnings_appeared: [...headWarnings].filter((w) => !baseWarnings.has(w)),
    warnings_gone: [...baseWarnings].filter((w) => !headWarnings.has(w)),
    reshaped: base.N !== head.N || base.M !== head.M,
    dtype_changed: base.dtype !== undefined && head.dtype !== undefined && base.dtype !== head.dtype,
    deciding,
    verdict: "pass",
    findings: [],
    base,
    head,
  };

  const raw = layerFindings(layer, policy);
  const notDeciding = deciding
    ? ""
    : ` (reported only: the fit rests on ${Math.min(base.num_evals, head.num_evals)} eigenvalues, fewer than ${policy.min_evals})`;
  layer.findings = raw.map((f) =>
    deciding ? f : { ...f, severity: "info", message: f.message.replace(/\.$/, "") + notDeciding + "." },
  );
  layer.verdict = worstVerdict(layer.findings);
  return layer;
}

function layerFindings(layer: LayerComparison, policy: Policy): Finding[] {
  const found: Finding[] = [];
  const add = (rule: Finding["rule"], severity: Severity, message: string) =>
    found.push({ rule, severity, layer: layer.name, message: `${layer.name}: ${message}` });
  const alpha = layer.changes.alpha;

  if (policy.alpha_rise.enabled && alpha.delta !== null && alpha.delta > 0) {
    const level = riseLevel(alpha.delta, layer.sigma_combined, policy.alpha_rise.warn, policy.alpha_rise.fail);
    if (level !== null) {
      add("alpha_rise", level, `alpha rose from ${fixed(alpha.base!, 2)} to ${fixed(alpha.head!, 2)} (${signed(alpha.delta, 2)}, ${sigmaWords(layer.alpha_z)}).`);
    }
  }

  const range = policy.alpha_range;
  if (range.enabled && alpha.base !== null && alpha.head !== null) {
    if (alpha.head > range.high && alpha.base <= range.high) {
      add("alpha_range", range.above, `alpha rose above ${range.high} (${fixed(alpha.base, 2)} → ${fixed(alpha.head, 2)}): the layer now looks under-trained, close to random.`);
    } else if (alpha.head < range.low && alpha.base >= range.low) {
      add("alpha_range", range.below, `alpha fell below ${range.low} (${fixed(alpha.base, 2)} → ${fixed(alpha.head, 2)}): the layer may be over-trained.`);
    }
  }

  const traps = layer.changes.rand_num_spikes;
  if (policy.correlation_trap.enabled && traps.base !== null && traps.head !== null) {
    if (traps.base === 0 && traps.head > 0) {
      add("correlation_trap", policy.correlation_trap.appeared, `a correlation trap appeared (${traps.head} randomized ${plural(traps.head, "eigenvalue")} beyond the random bulk).`);
    } else if (traps.base > 0 && traps.head > traps.base) {
      add("correlation_trap", policy.correlation_trap.increased, `correlation traps increased from ${traps.base} to ${traps.head}.`);
    }
  }

  const scale = layer.changes.log_spectral_norm;
  if (policy.scale_collapse.enabled && scale.delta !== null && scale.delta < 0) {
    const drop = -scale.delta;
    const severity: Severity | null =
      drop > policy.scale_collapse.fail_drop ? "fail" : drop > policy.scale_collapse.warn_drop ? "warn" : null;
    if (severity !== null) {
      add("scale_collapse", severity, `spectral norm shrank ${factorWords(10 ** drop)} (log_spectral_norm ${fixed(scale.base!, 2)} → ${fixed(scale.head!, 2)}): scale collapse.`);
    }
  }

  if (policy.fit_failed.enabled && layer.base.status === "success" && layer.head.status === "failed") {
    add("fit_failed", policy.fit_failed.severity, "the power-law fit failed in head (it succeeded in base), so its alpha cannot be compared.");
  }

  if (policy.structure.enabled && layer.reshaped) {
    add("structure", policy.structure.reshaped, `shape changed from ${layer.base.N}×${layer.base.M} to ${layer.head.N}×${layer.head.M}.`);
  }
  return found;
}

/** The level an alpha rise reaches: both the sigma test and the floor must pass. */
function riseLevel(delta: number, sigma: number | null, warn: AlphaRiseThreshold, fail: AlphaRiseThreshold): "fail" | "warn" | null {
  // Without a standard error (e.g. a truncated power-law fit), only the floor can judge.
  const passes = (t: AlphaRiseThreshold) => delta > t.min_delta && (sigma === null || delta > t.k_sigma * sigma);
  if (passes(fail)) return "fail";
  if (passes(warn)) return "warn";
  return null;
}

function summarize(layers: readonly LayerComparison[], added: number, removed: number): ComparisonSummary {
  const fitted = layers.filter((l) => l.deciding && l.changes.alpha.delta !== null);
  const n = fitted.length;
  const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
  let mean_alpha_base: number | null = null;
  let mean_alpha_head: number | null = null;
  let mean_alpha_delta: number | null = null;
  let mean_alpha_sigma: number | null = null;
  if (n > 0) {
    mean_alpha_base = mean(fitted.map((l) => l.changes.alpha.base!));
    mean_alpha_head = mean(fitted.map((l) => l.changes.alpha.head!));
    mean_alpha_delta = mean(fitted.map((l) => l.changes.alpha.delta!));
    // Standard error of a mean of n independent changes: sqrt(Σ σ²) / n.
    if (fitted.every((l) => l.sigma_combined !== null)) {
      mean_alpha_sigma = Math.sqrt(fitted.reduce((s, l) => s + l.sigma_combined! ** 2, 0)) / n;
    }
  }
  return {
    matched: layers.length,
    added,
    removed,
    mean_alpha_base,
    mean_alpha_head,
    mean_alpha_delta,
    mean_alpha_sigma,
    layers_failed: layers.filter((l) => l.verdict === "fail").length,
    layers_warned: layers.filter((l) => l.verdict === "warn").length,
  };
}

function meanAlphaFindings(summary: ComparisonSummary, policy: Policy): Finding[] {
  const rule = policy.mean_alpha_rise;
  const delta = summary.mean_alpha_delta;
  if (!rule.enabled || delta === null || delta <= 0) return [];
  const level = riseLevel(delta, summary.mean_alpha_sigma, rule.warn, rule.fail);
  if (level === null) return [];
  const z = summary.mean_alpha_sigma === null || summary.mean_alpha_sigma === 0 ? null : delta / summary.mean_alpha_sigma;
  return [
    {
      rule: "mean_alpha_rise",
      severity: level,
      message: `Mean alpha rose from ${fixed(summary.mean_alpha_base!, 2)} to ${fixed(summary.mean_alpha_head!, 2)} (${signed(delta, 2)}, ${sigmaWords(z)}) over the layers that decide.`,
    },
  ];
}

function structureFindings(removed: readonly LayerRecord[], policy: Policy): Finding[] {
  if (!policy.structure.enabled) return [];
  return removed.map((layer) => ({
    rule: "structure" as const,
    severity: policy.structure.removed,
    layer: layer.name,
    message: `${layer.name}: layer is missing from head (present in base), so it was not compared.`,
  }));
}

function reasonsFor(verdict: Verdict, findings: readonly Finding[], layers: readonly LayerComparison[]): string[] {
  if (verdict !== "pass") {
    const order = { fail: 0, warn: 1, info: 2 } as const;
    return findings
      .filter((f) => f.severity !== "info")
      .sort((a, b) => order[a.severity] - order[b.severity])
      .map((f) => f.message);
  }
  const deciding = layers.filter((l) => l.deciding).length;
  const reportedOnly = layers.length - deciding;
  const extra = reportedOnly > 0 ? `; ${reportedOnly} small ${plural(reportedOnly, "layer")} reported only` : "";
  return [`No regression: ${deciding} matched ${plural(deciding, "layer")} checked, none got worse under the policy${extra}.`];
}

function describeSide(report: Report): ComparisonSide {
  const measured = report.layers.filter((l) => typeof l.rand_num_spikes === "number" && l.rand_num_spikes >= 0);
  return {
    source: report.source,
    num_layers: report.layers.length,
    mean_alpha: report.summary.alpha ?? null,
    num_traps: measured.length === 0 ? null : measured.filter((l) => l.rand_num_spikes! > 0).length,
    skipped: report.skipped,
  };
}

function worstVerdict(findings: readonly Finding[]): Verdict {
  if (findings.some((f) => f.severity === "fail")) return "fail";
  if (findings.some((f) => f.severity === "warn")) return "warn";
  return "pass";
}

function metricValue(layer: LayerRecord, metric: DeltaMetric): number | null {
  switch (metric) {
    case "log_spectral_norm":
    case "log_norm":
    case "stable_rank":
      return finiteOrNull(layer[metric]);
    case "rand_num_spikes":
      // Negative values are weightwatcher's sentinel for a failed randomized MP fit.
      return layer.rand_num_spikes === undefined || layer.rand_num_spikes === null || layer.rand_num_spikes < 0
        ? null
        : finiteOrNull(layer.rand_num_spikes);
    default:
      return fittedValue(layer, layer[metric]);
  }
}

/** Fit-derived values count only for a successful fit (compat mode writes -1 sentinels otherwise). */
function fittedValue(layer: LayerRecord, value: number | null): number | null {
  return layer.status === "success" ? finiteOrNull(value) : null;
}

function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

function change(base: number | null, head: number | null): MetricChange {
  return { base, head, delta: base === null || head === null ? null : head - base };
}

function warningSet(warning: string): Set<string> {
  return new Set(warning.split(/[,;]\s*/).map((w) => w.trim()).filter((w) => w !== ""));
}

function fixed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

function signed(value: number, digits: number): string {
  const text = fixed(value, digits);
  return text.startsWith("-") ? text : `+${text}`;
}

function sigmaWords(z: number | null): string {
  return z === null ? "no standard error available" : `${fixed(z, 1)} combined standard errors`;
}

function factorWords(factor: number): string {
  return `${factor >= 10 ? factor.toFixed(0) : factor.toFixed(1)}-fold`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
