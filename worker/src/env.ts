/**
 * The Worker's bindings and settings (wrangler.toml `[vars]`, secrets, `.dev.vars`), and the
 * parsed form the code uses.
 */
import type { JobMessage } from "./fanout/messages.js";

export interface Env {
  /** Models: uploads, registry prefixes scanned by the cron, R2 sources of analyses. */
  MODELS: R2Bucket;
  /** Stored reports, one JSON object per analysis. */
  REPORTS: R2Bucket;
  /** Index: models, versions, analyses, per-layer metrics (worker/migrations). */
  DB: D1Database;
  /** Fan-out of large models, one message per layer. */
  JOBS: Queue<JobMessage>;
  /** SHA-256 hex digests of the accepted API keys, comma-separated (a secret in production). */
  API_KEY_HASHES?: string;
  /** Plain API keys, comma-separated, for local development (.dev.vars); hashed on load. */
  API_KEYS?: string;
  MEMORY_BUDGET_MIB?: string;
  INLINE_MAX_BYTES?: string;
  MAX_SOURCE_BYTES?: string;
  SCAN_PREFIXES?: string;
  ALLOW_PRIVATE_URLS?: string;
  WEBHOOK_URL?: string;
}

export interface Settings {
  memoryBudgetBytes: number;
  inlineMaxBytes: number;
  maxSourceBytes: number;
  scanPrefixes: string[];
  allowPrivateUrls: boolean;
  webhookUrl: string | undefined;
}

const MIB = 1024 * 1024;

function positiveNumber(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`configuration: ${name} must be a positive number, got "${value}"`);
  }
  return parsed;
}

export function readSettings(env: Env): Settings {
  const webhook = env.WEBHOOK_URL?.trim();
  return {
    memoryBudgetBytes: Math.floor(positiveNumber(env.MEMORY_BUDGET_MIB, 96, "MEMORY_BUDGET_MIB") * MIB),
    inlineMaxBytes: positiveNumber(env.INLINE_MAX_BYTES, 4 * MIB, "INLINE_MAX_BYTES"),
    maxSourceBytes: positiveNumber(env.MAX_SOURCE_BYTES, 20 * 1024 * MIB, "MAX_SOURCE_BYTES"),
    scanPrefixes: (env.SCAN_PREFIXES ?? "")
      .split(",")
      .map((prefix) => prefix.trim())
      .filter((prefix) => prefix !== ""),
    allowPrivateUrls: env.ALLOW_PRIVATE_URLS === "true",
    webhookUrl: webhook === undefined || webhook === "" ? undefined : webhook,
  };
}
