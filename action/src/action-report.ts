/**
 * The Action's result for one pull request: one entry per changed checkpoint file, the overall
 * verdict and the regressions. Written as JSON (the `report` output) and read back by the
 * `mode: comment` run of the two-workflow pattern, so it is a versioned contract.
 */
import type { Comparison, Verdict } from "../../core/compare/comparison.js";
import type { Report } from "../../core/report.js";
import type { ChangeStatus } from "./git.js";
import { UsageError } from "../../core/errors.js";

export const ACTION_REPORT_SCHEMA_VERSION = 1;

interface FileBase {
  path: string;
  /** Path in base of a renamed file. */
  previous_path?: string;
  status: ChangeStatus;
  verdict: Verdict;
}

/** Base and head both read: the comparison under the policy. */
export interface ComparedFile extends FileBase {
  outcome: "compared";
  comparison: Comparison;
}

/** No base version (added, or the base could not be read): the head's report only. */
export interface ReportedFile extends FileBase {
  outcome: "reported";
  report: Report;
  /** Why there is no comparison when the file was not simply added. */
  note?: string;
}

/** Deleted in the pull request. */
export interface RemovedFile extends FileBase {
  outcome: "removed";
}

/** Same content on both sides (a rename, or the same LFS object): nothing to analyze. */
export interface UnchangedFile extends FileBase {
  outcome: "unchanged";
  note: string;
}

/** The head version (or both) could not be read. */
export interface UnreadableFile extends FileBase {
  outcome: "error";
  side: "base" | "head";
  error: string;
}

export type FileResult = ComparedFile | ReportedFile | RemovedFile | UnchangedFile | UnreadableFile;

export interface Regression {
  file: string;
  /** Layer name; absent for a file-level problem (unreadable checkpoint, model-level finding). */
  layer?: string;
  verdict: "fail" | "warn";
  reason: string;
}

export interface ActionReport {
  schemaVersion: typeof ACTION_REPORT_SCHEMA_VERSION;
  tool: { name: "alphawatch-action"; version: string };
  repository: string;
  pull_request: number;
  base_sha: string;
  head_sha: string;
  verdict: Verdict;
  files: FileResult[];
  regressions: Regression[];
}

const RANK: Record<Verdict, number> = { pass: 0, warn: 1, fail: 2 };

export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = "pass";
  for (const v of verdicts) if (RANK[v] > RANK[worst]) worst = v;
  return worst;
}

/** The layers (and file-level problems) that made a file warn or fail, worst first. */
export function regressionsOf(files: readonly FileResult[]): Regression[] {
  const out: Regression[] = [];
  for (const file of files) {
    if (file.outcome === "compared") {
      for (const layer of file.comparison.layers) {
        if (layer.verdict === "pass") continue;
        const reasons = layer.findings.filter((f) => f.severity === layer.verdict).map((f) => f.message);
        out.push({ file: file.path, layer: layer.name, verdict: layer.verdict, reason: reasons.join(" ") });
      }
      for (const finding of file.comparison.findings) {
        if (finding.layer === undefined && finding.severity !== "info") out.push({ file: file.path, verdict: finding.severity, reason: finding.message });
      }
    } else if (file.verdict !== "pass") {
      const reason = file.outcome === "error" ? `${file.side} unreadable: ${file.error}` : file.outcome === "reported" ? (file.note ?? "") : "";
      out.push({ file: file.path, verdict: file.verdict, reason });
    }
  }
  return out.sort((a, b) => RANK[b.verdict] - RANK[a.verdict]);
}

/** Whether the run should fail the check under `failOn`. */
export function failsCheck(verdict: Verdict, failOn: "fail" | "warn" | "never"): boolean {
  if (failOn === "never") return false;
  return RANK[verdict] >= RANK[failOn];
}

/**
 * Minimal structural check of a report read back from a file (the `mode: comment` run gets it from
 * an artifact an untrusted workflow produced): the fields the comment uses, with their types.
 */
export function checkActionReport(data: unknown, file: string): ActionReport {
  const fail = (what: string): never => {
    throw new UsageError(`${file}: not an alphawatch Action report (${what})`);
  };
  if (typeof data !== "object" || data === null) fail("not a JSON object");
  const r = data as Partial<ActionReport>;
  if (r.schemaVersion !== ACTION_REPORT_SCHEMA_VERSION) fail(`schemaVersion ${JSON.stringify(r.schemaVersion)}, expected ${ACTION_REPORT_SCHEMA_VERSION}`);
  if (!Number.isSafeInteger(r.pull_request) || (r.pull_request as number) < 1) fail("pull_request is not a positive integer");
  for (const key of ["repository", "base_sha", "head_sha"] as const) if (typeof r[key] !== "string") fail(`${key} is not a string`);
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(r.head_sha!)) fail("head_sha is not a commit SHA");
  if (r.verdict !== "pass" && r.verdict !== "warn" && r.verdict !== "fail") fail("verdict is not pass, warn or fail");
  if (!Array.isArray(r.files) || !Array.isArray(r.regressions)) fail("files or regressions is not a list");
  for (const f of r.files!) {
    if (typeof f !== "object" || f === null || typeof f.path !== "string") fail("a file entry has no path");
    const outcome = (f as { outcome?: unknown }).outcome;
    if (!["compared", "reported", "removed", "unchanged", "error"].includes(outcome as string)) fail(`file ${f.path}: unknown outcome`);
    if (outcome === "compared" && typeof (f as ComparedFile).comparison?.verdict !== "string") fail(`file ${f.path}: no comparison`);
    if (outcome === "reported" && !Array.isArray((f as ReportedFile).report?.layers)) fail(`file ${f.path}: no report`);
  }
  return r as ActionReport;
}
