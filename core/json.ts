/**
 * JSON for reports and their parts. JSON has no NaN or infinities, yet weightwatcher's metrics
 * produce them (log_alpha_norm of a failed fit, the norms of `inverse`): they are written as the
 * strings weightwatcher's own oracle uses ("Infinity", "-Infinity"; NaN as null) and read back
 * as numbers, so a report survives storage (R2, D1, files) unchanged.
 */

/** JSON.stringify replacer writing non-finite numbers as "Infinity" / "-Infinity" / null. */
export function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? null : value > 0 ? "Infinity" : "-Infinity";
  }
  return value;
}

/** Fields whose value is text, never a number written as text. */
const TEXT_FIELDS = new Set(["name", "longname", "reason", "path", "etag", "sha256", "warning", "status", "layer_type", "format", "dtype", "type_rule", "fit_failure", "version"]);

function jsonNumbersBack(key: string, value: unknown): unknown {
  if ((value === "Infinity" || value === "-Infinity") && !TEXT_FIELDS.has(key)) return value === "Infinity" ? Infinity : -Infinity;
  return value;
}

export function stringifyJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, jsonNumbers, indent);
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text, jsonNumbersBack) as T;
}

/**
 * A copy of `value` with its non-finite numbers already written as those strings, for hosts that
 * serialize with plain JSON.stringify themselves (Hono's c.json).
 */
export function withJsonNumbers<T>(value: T): T {
  return JSON.parse(stringifyJson(value)) as T;
}
