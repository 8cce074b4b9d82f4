/**
 * Reading weightwatcher's goldens (../shared/oracle), analyzing the oracle's cases, and comparing
 * rows with the tolerances of oracle/README.md "Tolerances".
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { AnalyzeOptions, LayerRecord, Report, Summary } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { sharedPath } from "./shared.js";

export type GoldenValue = number | string | boolean | null;
export type GoldenRow = Record<string, GoldenValue>;

export interface Golden {
  case: string;
  preset: string;
  kwargs: Record<string, unknown>;
  details: GoldenRow[];
  summary: Record<string, GoldenValue>;
  evals: Record<string, GoldenValue[]>;
  error: string | null;
}

export function readGolden(caseName: string, preset: string): Golden {
  return JSON.parse(readFileSync(sharedPath("oracle", "golden", caseName, `${preset}.json`), "utf8")) as Golden;
}

/** The bytes of an oracle case's checkpoint (oracle/cases/<case>.safetensors). */
export function oracleCaseBytes(caseName: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath("oracle", "cases", `${caseName}.safetensors`)));
}

/** analyze() of an oracle case as the parity suites run it: eigenvalues kept, no source hash. */
export function analyzeOracleCase(caseName: string, options: Partial<AnalyzeOptions>, kernel: SpectralKernel): Promise<Report> {
  return analyze(bytesSource(oracleCaseBytes(caseName), `${caseName}.safetensors`), options, { kernel, keepEvals: true, hashSource: false });
}

export function oracleCases(): string[] {
  const manifest = JSON.parse(readFileSync(sharedPath("oracle", "cases", "manifest.json"), "utf8")) as {
    cases: Record<string, { file: string }>;
  };
  return Object.keys(manifest.cases);
}

/** Golden number: null is NaN, "Infinity"/"-Infinity" strings are ±∞. */
export function goldenNumber(value: GoldenValue | undefined): number {
  if (value === null || value === undefined) return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (typeof value !== "number") throw new Error(`golden value ${JSON.stringify(value)} is not a number`);
  return value;
}

/** The analyze() options of a golden's WW kwargs (only the options alphawatch implements). */
export function optionsFromKwargs(kwargs: Record<string, unknown>): Partial<AnalyzeOptions> {
  const options: Partial<AnalyzeOptions> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    switch (key) {
      case "min_evals": case "max_evals": case "max_N": case "tolerance":
        options[key] = value as number;
        break;
      case "xmax":
        options.xmax = value as number;
        break;
      case "pool": case "conv2d_norm":
        options[key] = value as boolean;
        break;
      default:
        throw new Error(`golden kwarg ${key} is not an alphawatch option`);
    }
  }
  return options;
}

/** The golden eigenvalues of a row: key "L" then "L#k" by k; the slice_id-th of them. */
export function goldenEvals(golden: Golden, layerId: number, sliceId = 0): number[] {
  const keys = Object.keys(golden.evals)
    .filter((key) => key === String(layerId) || key.startsWith(`${layerId}#`))
    .sort((a, b) => suffix(a) - suffix(b));
  const key = keys[sliceId];
  if (key === undefined) throw new Error(`golden ${golden.case}/${golden.preset}: no evals for layer ${layerId} slice ${sliceId}`);
  return golden.evals[key]!.map(goldenNumber);
}

function suffix(key: string): number {
  const hash = key.indexOf("#");
  return hash < 0 ? -1 : Number(key.slice(hash + 1));
}

const EXACT = ["layer_id", "name", "longname", "layer_type", "N", "M", "rf", "num_evals", "num_pl_spikes",
  "rank_loss", "weak_rank_loss", "matrix_rank", "status", "warning", "has_esd", "slice_id"] as const;
const FIT = ["alpha", "D", "sigma", "xmin", "xmax", "entropy", "Q"] as const;
const NORMS = ["norm", "spectral_norm", "lambda_max", "sv_max", "stable_rank"] as const;
const LOGS = ["log_norm", "log_spectral_norm", "alpha_weighted", "log_alpha_norm"] as const;

/** Number of columns each row comparison checks (for the report). */
export const COLUMNS_CHECKED = EXACT.length + FIT.length + NORMS.length + LOGS.length + 1;

/**
 * Asserts |actual − golden| <= max(rel·|golden|, abs); a missing actual (null, undefined) counts as
 * NaN, and a non-finite golden (NaN, ±∞) must be matched exactly.
 */
export function expectClose(actual: number | null | undefined, golden: number, rel: number, what: string, abs = 0): void {
  const value = actual ?? NaN;
  if (!Number.isFinite(golden)) {
    expect(value, what).toBe(golden);
    return;
  }
  const bound = Math.max(rel * Math.abs(golden), abs);
  expect(Math.abs(value - golden), `${what}: ${value} vs golden ${golden} (bound ${bound})`).toBeLessThanOrEqual(bound);
}

/** Asserts one row against its golden; `where` prefixes every message. */
export function expectRowMatches(row: LayerRecord, golden: GoldenRow, where: string, columns?: readonly string[]): void {
  const wanted = (column: string): boolean => columns === undefined || columns.includes(column);
  const record = row as unknown as Record<string, unknown>;
  for (const column of EXACT) {
    if (!wanted(column) || !(column in golden)) continue;
    const expected = golden[column];
    if (column === "slice_id" && expected === null) continue;
    expect(record[column], `${where} ${column}`).toBe(expected);
  }
  for (const column of FIT) {
    if (wanted(column) && column in golden) expectClose(record[column] as number | null, goldenNumber(golden[column]), 1e-9, `${where} ${column}`, 1e-12);
  }
  for (const column of NORMS) {
    if (wanted(column) && column in golden) expectClose(record[column] as number, goldenNumber(golden[column]), 1e-12, `${where} ${column}`);
  }
  const failed = golden.status === "failed";
  for (const column of LOGS) {
    if (!wanted(column) || !(column in golden)) continue;
    let rel = 1e-12;
    if (failed && column === "log_alpha_norm" && row.evals !== undefined) {
      // Σ 1/λ: dominated by the smallest eigenvalue, whose Gram error is k·λ_max (README).
      const positive = row.evals.filter((v) => v > 0);
      rel = (1e-13 * row.lambda_max) / Math.min(...positive);
    }
    expectClose(record[column] as number | null, goldenNumber(golden[column]), rel, `${where} ${column}`, 1e-12);
  }
  if (wanted("sv_min") && "sv_min" in golden) {
    const g = goldenNumber(golden.sv_min);
    expect(Math.abs(row.sv_min ** 2 - g ** 2), `${where} sv_min ${row.sv_min} vs ${g}`).toBeLessThanOrEqual(1e-13 * row.lambda_max);
  }
}

/** Eigenvalues within 1e-13·λ_max each. */
export function expectEvalsMatch(actual: readonly number[] | undefined, golden: number[], where: string): void {
  expect(actual, `${where} evals`).toBeDefined();
  expect(actual!.length, `${where} number of evals`).toBe(golden.length);
  const lambdaMax = Math.max(...golden);
  let worst = 0;
  for (let i = 0; i < golden.length; i++) worst = Math.max(worst, Math.abs(actual![i]! - golden[i]!));
  expect(worst, `${where} worst eigenvalue error`).toBeLessThanOrEqual(1e-13 * lambdaMax);
}

export const SUMMARY_KEYS = ["log_norm", "alpha", "alpha_weighted", "log_alpha_norm", "log_spectral_norm", "stable_rank"] as const;

export function expectSummaryMatches(summary: Summary, golden: Record<string, GoldenValue>, where: string): void {
  for (const key of SUMMARY_KEYS) {
    if (!(key in golden)) {
      expect(summary[key], `${where} summary ${key}`).toBeUndefined();
      continue;
    }
    const rel = key === "alpha" ? 1e-9 : 1e-12;
    expectClose(summary[key], goldenNumber(golden[key]), rel, `${where} summary ${key}`, 1e-12);
  }
}
