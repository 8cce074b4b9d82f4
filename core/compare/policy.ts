/**
 * The regression policy: which changes between two reports make a verdict warn or fail.
 * Defaults and the reasons for them are written down in docs/policy.md.
 */

import { UsageError } from "../errors.js";

/** Severity a rule assigns; "info" is reported but never changes the verdict. */
export type Severity = "fail" | "warn" | "info";

/** An alpha rise counts at a level when it exceeds both k combined standard errors and a floor. */
export interface AlphaRiseThreshold {
  /** Combined standard errors: delta > k_sigma · sqrt(sigma_base² + sigma_head²). */
  k_sigma: number;
  /** Absolute floor on the rise of alpha. */
  min_delta: number;
}

export interface AlphaRiseRule {
  enabled: boolean;
  warn: AlphaRiseThreshold;
  fail: AlphaRiseThreshold;
}

export interface Policy {
  /**
   * Layers with fewer eigenvalues (num_evals) in base or head are reported but do not decide the
   * verdict. 0: every layer decides.
   */
  min_evals: number;
  /** Per layer: alpha rose by more than k combined sigmas and by more than a floor. */
  alpha_rise: AlphaRiseRule;
  /** Per layer: alpha left the heavy-tailed range [low, high]. */
  alpha_range: {
    enabled: boolean;
    low: number;
    high: number;
    /** Severity when a layer becomes under-trained (alpha rises above `high`). */
    above: Severity;
    /** Severity when a layer becomes over-trained (alpha falls below `low`). */
    below: Severity;
  };
  /** Per layer: the randomized ESD shows spikes (rand_num_spikes > 0) where base had none. */
  correlation_trap: { enabled: boolean; appeared: Severity; increased: Severity };
  /** Per layer: log10 of the spectral norm dropped by more than these amounts. */
  scale_collapse: { enabled: boolean; warn_drop: number; fail_drop: number };
  /** Per layer: the power-law fit succeeded in base and failed in head. */
  fit_failed: { enabled: boolean; severity: Severity };
  /** Model: mean alpha over the deciding matched layers rose (same test as alpha_rise, on the mean). */
  mean_alpha_rise: AlphaRiseRule;
  /** Model: layers present in base are gone from head, or changed shape. */
  structure: { enabled: boolean; removed: Severity; reshaped: Severity };
}

export const DEFAULT_POLICY: Readonly<Policy> = deepFreeze({
  min_evals: 50,
  alpha_rise: {
    enabled: true,
    warn: { k_sigma: 2, min_delta: 0.25 },
    fail: { k_sigma: 3, min_delta: 0.5 },
  },
  alpha_range: { enabled: true, low: 2, high: 6, above: "fail", below: "warn" },
  correlation_trap: { enabled: true, appeared: "fail", increased: "warn" },
  scale_collapse: { enabled: true, warn_drop: 0.5, fail_drop: 1 },
  fit_failed: { enabled: true, severity: "warn" },
  mean_alpha_rise: {
    enabled: true,
    warn: { k_sigma: 2, min_delta: 0.1 },
    fail: { k_sigma: 3, min_delta: 0.25 },
  },
  structure: { enabled: true, removed: "warn", reshaped: "warn" },
});

/** Any subset of a Policy, nested objects included (what a policy file or an API call gives). */
export type PolicyOverrides = {
  [K in keyof Policy]?: Policy[K] extends object ? DeepPartial<Policy[K]> : Policy[K];
};
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** DEFAULT_POLICY with `overrides` applied field by field; UsageError when the result makes no sense. */
export function resolvePolicy(overrides: PolicyOverrides = {}): Policy {
  const policy = mergeDeep(structuredClone(DEFAULT_POLICY) as unknown as Record<string, unknown>, overrides) as unknown as Policy;
  const { low, high } = policy.alpha_range;
  if (!(low < high)) throw new UsageError(`policy: alpha_range.low (${low}) must be below alpha_range.high (${high})`);
  return policy;
}

function mergeDeep(target: Record<string, unknown>, source: object): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) mergeDeep(current, value);
    else target[key] = value;
  }
  return target;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (isPlainObject(child)) deepFreeze(child);
  return Object.freeze(value);
}

const SEVERITY_SCHEMA = { enum: ["fail", "warn", "info"] } as const;
const NON_NEGATIVE = { type: "number", minimum: 0 } as const;
const THRESHOLD_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: { k_sigma: NON_NEGATIVE, min_delta: NON_NEGATIVE },
} as const;
const ALPHA_RISE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: { enabled: { type: "boolean" }, warn: THRESHOLD_SCHEMA, fail: THRESHOLD_SCHEMA },
} as const;

/** JSON Schema (draft-07) of a policy file: every field optional, nothing unknown. */
export const POLICY_SCHEMA = {
  $id: "https://alphawatch.dev/schemas/policy.json",
  title: "alphawatch regression policy",
  type: "object",
  additionalProperties: false,
  properties: {
    $schema: { type: "string" },
    min_evals: { type: "integer", minimum: 0 },
    alpha_rise: ALPHA_RISE_SCHEMA,
    alpha_range: {
      type: "object",
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean" },
        low: { type: "number" },
        high: { type: "number" },
        above: SEVERITY_SCHEMA,
        below: SEVERITY_SCHEMA,
      },
    },
    correlation_trap: {
      type: "object",
      additionalProperties: false,
      properties: { enabled: { type: "boolean" }, appeared: SEVERITY_SCHEMA, increased: SEVERITY_SCHEMA },
    },
    scale_collapse: {
      type: "object",
      additionalProperties: false,
      properties: { enabled: { type: "boolean" }, warn_drop: NON_NEGATIVE, fail_drop: NON_NEGATIVE },
    },
    fit_failed: {
      type: "object",
      additionalProperties: false,
      properties: { enabled: { type: "boolean" }, severity: SEVERITY_SCHEMA },
    },
    mean_alpha_rise: ALPHA_RISE_SCHEMA,
    structure: {
      type: "object",
      additionalProperties: false,
      properties: { enabled: { type: "boolean" }, removed: SEVERITY_SCHEMA, reshaped: SEVERITY_SCHEMA },
    },
  },
} as const;
