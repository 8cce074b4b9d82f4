/**
 * The pull-request comment (and job summary): a table of every changed checkpoint with its verdict,
 * then each file's comparison from the core Markdown renderer. A hidden marker lets later runs find
 * the comment again and update it in place.
 */
import { MARKDOWN_LIMIT, renderComparisonMarkdown, renderReportMarkdown } from "../../core/render/markdown.js";
import { escapeMarkdownCell, plural } from "../../core/render/format.js";
import type { Verdict } from "../../core/compare/comparison.js";
import type { ActionReport, FileResult } from "./action-report.js";

/** First line of every comment the Action writes; never shown by GitHub. */
export const COMMENT_MARKER = "<!-- alphawatch-action: per-layer report -->";

const MARK: Record<Verdict, string> = { pass: "✅", warn: "⚠️", fail: "❌" };

export interface CommentOptions {
  /** Where the full JSON report can be found (the run's page, an artifact). */
  fullReport: string;
  /** Character cap; GitHub's comment limit by default. */
  limit?: number;
}

function code(text: string): string {
  return "`" + text.replaceAll("`", "'") + "`";
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function changeWords(file: FileResult): string {
  if (file.status === "renamed") return `renamed from ${code(file.previous_path ?? "?")}`;
  return file.status;
}

function fileSummary(file: FileResult): string {
  switch (file.outcome) {
    case "compared": {
      const c = file.comparison;
      const failed = c.layers.filter((l) => l.verdict === "fail").map((l) => l.name);
      const warned = c.layers.filter((l) => l.verdict === "warn").map((l) => l.name);
      const parts: string[] = [];
      if (failed.length > 0) parts.push(`regressed: ${failed.join(", ")}`);
      if (warned.length > 0) parts.push(`warned: ${warned.join(", ")}`);
      if (parts.length === 0) parts.push(c.verdict === "pass" ? `${plural(c.layers.length, "layer")} compared, no regression` : (c.reasons[0] ?? ""));
      const mean = c.summary.mean_alpha_delta;
      if (mean !== null) parts.push(`mean alpha ${mean >= 0 ? "+" : ""}${mean.toFixed(3)}`);
      return parts.join("; ");
    }
    case "reported":
      return `${file.note ?? "new checkpoint"}: ${plural(file.report.summary.num_layers, "layer")} analyzed, mean alpha ${file.report.summary.alpha?.toFixed(3) ?? "–"}`;
    case "removed":
      return "deleted";
    case "unchanged":
      return file.note;
    case "error":
      return `cannot be read (${file.side}): ${file.error}`;
  }
}

function overview(report: ActionReport): string[] {
  const out: string[] = [];
  out.push(COMMENT_MARKER);
  out.push(`## ${MARK[report.verdict]} alphawatch: ${report.verdict.toUpperCase()}`);
  const n = report.files.length;
  out.push(
    n === 0
      ? `No checkpoint file changed in this pull request (base ${code(short(report.base_sha))} → head ${code(short(report.head_sha))}).`
      : `${plural(n, "checkpoint file")} changed in this pull request (base ${code(short(report.base_sha))} → head ${code(short(report.head_sha))}).`,
  );
  if (n > 0) {
    const rows = report.files.map((f) => `| ${escapeMarkdownCell(f.path)} | ${escapeMarkdownCell(changeWords(f))} | ${MARK[f.verdict]} ${f.verdict} | ${escapeMarkdownCell(fileSummary(f))} |`);
    out.push(["| file | change | verdict | summary |", "|---|---|---|---|", ...rows].join("\n"));
  }
  return out;
}

function fileDetail(file: FileResult, limit: number, fullReport: string): string | undefined {
  const title = `### ${MARK[file.verdict]} ${code(file.path)}`;
  const budget = Math.max(2000, limit - title.length - 200);
  let body: string;
  if (file.outcome === "compared") body = renderComparisonMarkdown(file.comparison, { fullReport, limit: budget });
  else if (file.outcome === "reported") body = renderReportMarkdown(file.report, { fullReport, limit: budget });
  else if (file.outcome === "error") body = `**Cannot read the ${file.side} version:** ${escapeMarkdownCell(file.error)}\n`;
  else return undefined;
  // The renderers open with an h2; inside one file's section it is a level lower.
  body = body.replace(/^## /gm, "#### ").replace(/^### /gm, "##### ");
  if (file.verdict === "pass") return `<details><summary>${MARK.pass} ${escapeMarkdownCell(file.path)}: details</summary>\n\n${body}\n</details>`;
  return `${title}\n\n${body}`;
}

/**
 * The whole comment. Regressed files come first and get most of the room; when the details do not
 * fit in the limit, the last ones are dropped with a note saying where the full report is.
 */
export function renderActionComment(report: ActionReport, options: CommentOptions): string {
  const limit = options.limit ?? MARKDOWN_LIMIT;
  const head = overview(report).join("\n\n");
  const order = [...report.files].sort((a, b) => rank(b.verdict) - rank(a.verdict));
  const detailed = order.filter((f) => f.outcome === "compared" || f.outcome === "reported" || f.outcome === "error");
  const footer = `\n\n<sub>alphawatch · full report: ${options.fullReport}</sub>\n`;
  let room = limit - head.length - footer.length - 200;
  const sections: string[] = [];
  let dropped = 0;
  for (let i = 0; i < detailed.length; i++) {
    const share = Math.floor(room / (detailed.length - i));
    const section = share >= 2000 ? fileDetail(detailed[i]!, share, options.fullReport) : undefined;
    if (section === undefined || section.length > room) {
      dropped++;
      continue;
    }
    sections.push(section);
    room -= section.length + 2;
  }
  const note = dropped > 0 ? [`_${plural(dropped, "file")} not detailed here (GitHub's comment limit); see ${options.fullReport}._`] : [];
  return [head, ...sections, ...note].join("\n\n") + footer;
}

function rank(v: Verdict): number {
  return v === "fail" ? 2 : v === "warn" ? 1 : 0;
}
