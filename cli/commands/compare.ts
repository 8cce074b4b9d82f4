/**
 * `alphawatch compare BASE HEAD`: analyzes two checkpoints, compares them under the regression
 * policy and prints the verdict. Exit 0 on pass or warn, 3 on fail (see cli/main.ts).
 */
import { Command, Option } from "commander";
import { compareReports, type Comparison } from "../../core/compare/index.js";
import { renderComparisonHtml } from "../../core/render/html.js";
import { renderComparisonMarkdown } from "../../core/render/markdown.js";
import { formatDelta, formatNumber } from "../../core/render/format.js";
import { ExitCode, type Io } from "../main.js";
import { analyzePath } from "../analyze-path.js";
import { loadPolicyFile } from "../policy-file.js";
import { addAnalysisOptions, analysisOptions, jobCount, type AnalysisFlags } from "./analyze.js";
import { stringifyJson } from "../../core/json.js";

export type CompareFormat = "table" | "json" | "markdown" | "html";

/** Exit code of a "fail" verdict. */
export const FAIL_EXIT_CODE = 3;

export function registerCompare(program: Command, io: Io): void {
  const command = program
    .command("compare")
    .description("compare two checkpoints layer by layer and judge whether head got worse than base")
    .argument("<base>", "the reference checkpoint (file, directory or http(s) URL)")
    .argument("<head>", "the new checkpoint")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "markdown", "html"]).default("table"))
    .option("--policy <file>", "regression policy as JSON (fields you leave out keep their defaults; see docs/policy.md)")
    .option("--evals", "include each layer's eigenvalues in the JSON output");
  addAnalysisOptions(command).action(
    async (base: string, head: string, flags: AnalysisFlags & { format: CompareFormat; policy?: string; evals?: boolean }) => {
      // Read the policy first: a typo in it should not cost two analyses.
      const policy = flags.policy === undefined ? {} : await loadPolicyFile(flags.policy);
      const keepEvals = flags.evals === true || flags.format === "html";
      const context = { io, jobs: jobCount(flags), keepEvals };
      const options = analysisOptions(flags);
      const baseReport = await analyzePath(base, options, context);
      const headReport = await analyzePath(head, options, context);
      const comparison = compareReports(baseReport, headReport, policy);
      io.stdout(formatComparison(comparison, flags.format));
      if (comparison.verdict === "fail") throw new ExitCode(FAIL_EXIT_CODE);
    },
  );
}

export function formatComparison(comparison: Comparison, format: CompareFormat): string {
  switch (format) {
    case "json":
      return stringifyJson(comparison, 2) + "\n";
    case "markdown":
      return renderComparisonMarkdown(comparison, { fullReport: "the output of `alphawatch compare --format html` (or `--format json`)" });
    case "html":
      return renderComparisonHtml(comparison);
    case "table":
      return formatComparisonTable(comparison);
  }
}

/** Plain-text verdict and per-layer table for a terminal. */
export function formatComparisonTable(c: Comparison): string {
  const lines = [`verdict: ${c.verdict}  (base ${c.base.source.path} → head ${c.head.source.path})`];
  for (const reason of c.reasons) lines.push(`  - ${reason}`);
  lines.push("");
  const header = ["layer", "verdict", "alpha base", "alpha head", "Δ alpha", "Δ/σ", "Δ log_spectral_norm", "Δ stable_rank", "warnings"];
  const rows = c.layers.map((l) => [
    l.base_name === l.name ? l.name : `${l.base_name} → ${l.name}`,
    l.verdict + (l.deciding ? "" : " (small)"),
    formatNumber(l.changes.alpha.base),
    formatNumber(l.changes.alpha.head),
    formatDelta(l.changes.alpha.delta),
    formatNumber(l.alpha_z, 1),
    formatDelta(l.changes.log_spectral_norm.delta),
    formatDelta(l.changes.stable_rank.delta),
    [...l.warnings_appeared.map((w) => `+${w}`), ...l.warnings_gone.map((w) => `-${w}`)].join(", "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const textColumns = new Set([0, 1, 8]);
  const line = (cells: string[]) =>
    cells.map((cell, i) => (textColumns.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd();
  lines.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  for (const l of c.removed) lines.push(`removed: ${l.name}`);
  for (const l of c.added) lines.push(`added: ${l.name}`);
  return lines.join("\n") + "\n";
}
