/**
 * Markdown for GitHub (PR comments, job summaries): a report or a comparison as text that GitHub
 * renders, charts as Mermaid `xychart-beta` blocks. Never longer than MARKDOWN_LIMIT characters:
 * the longest tables are cut first and the text says where the full report is.
 */
import type { Comparison, LayerComparison } from "../compare/comparison.js";
import type { LayerRecord, Report, SkippedRecord } from "../report.js";
import { escapeMarkdownCell, formatBytes, formatDelta, formatNumber, plural } from "./format.js";

/** GitHub's limit on a comment body. */
export const MARKDOWN_LIMIT = 65_536;

export interface MarkdownOptions {
  /** Where the untruncated report can be found, said when something had to be cut. */
  fullReport?: string;
  /** Character cap (default MARKDOWN_LIMIT). */
  limit?: number;
}

const DEFAULT_FULL_REPORT = "the JSON or HTML output of alphawatch (`--format json` or `--format html`)";
const VERDICT_MARK = { pass: "✅", warn: "⚠️", fail: "❌" } as const;

/** How much of each long part to show; lowered step by step until the text fits. */
interface Limits {
  rows: number;
  flagged: number;
  reasons: number;
  chart: boolean;
}

function table(header: readonly string[], align: readonly ("l" | "r")[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  const rule = `|${align.map((a) => (a === "r" ? "---:" : "---")).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function code(text: string): string {
  return "`" + text.replaceAll("`", "'") + "`";
}

function layerCell(name: string): string {
  return escapeMarkdownCell(name);
}

/** Mermaid xychart of alpha per layer; one line per series. Layers without alpha are left out. */
function alphaChart(title: string, labels: readonly string[], series: ReadonlyArray<ReadonlyArray<number | null>>): string {
  const keep = labels.map((_, i) => i).filter((i) => series.every((s) => s[i] !== null && Number.isFinite(s[i])));
  if (keep.length === 0) return "";
  const values = keep.flatMap((i) => series.map((s) => s[i]!));
  const top = Math.ceil(Math.max(7, ...values));
  const bottom = Math.min(0, Math.floor(Math.min(...values)));
  // Names fit on the axis for a handful of layers; beyond that, positions in depth order.
  const axis = keep.length <= 12 ? keep.map((i) => `"${labels[i]!.replaceAll('"', "'")}"`) : keep.map((_, k) => String(k + 1));
  return [
    "```mermaid",
    "xychart-beta",
    `    title "${title.replaceAll('"', "'")}"`,
    `    x-axis [${axis.join(", ")}]`,
    `    y-axis "alpha" ${bottom} --> ${top}`,
    ...series.map((s) => `    line [${keep.map((i) => formatNumber(s[i]!)).join(", ")}]`),
    "```",
  ].join("\n");
}

function skippedTable(rows: ReadonlyArray<{ name: string; reason: string; side?: string }>, withSide: boolean): string {
  return table(
    withSide ? ["layer", "in", "reason"] : ["layer", "reason"],
    withSide ? ["l", "l", "l"] : ["l", "l"],
    rows.map((r) => (withSide ? [layerCell(r.name), r.side ?? "", escapeMarkdownCell(r.reason)] : [layerCell(r.name), escapeMarkdownCell(r.reason)])),
  );
}

function cutNote(shown: number, total: number, what: string, fullReport: string): string {
  return `_${total - shown} more ${what} not shown here (GitHub's ${MARKDOWN_LIMIT.toLocaleString("en-US")}-character limit); the full report is in ${fullReport}._`;
}

/**
 * Renders with decreasing limits until the text fits, then as a last resort cuts the text itself.
 * Each step halves the longest part still shown, so the number of renders stays logarithmic.
 */
function fitToLimit(render: (limits: Limits) => string, initial: Limits, cap: number, fullReport: string): string {
  const limits = { ...initial };
  let text = render(limits);
  while (text.length > cap) {
    if (limits.rows > 0) limits.rows = Math.floor(limits.rows / 2);
    else if (limits.flagged > 10) limits.flagged = Math.floor(limits.flagged / 2);
    else if (limits.chart) limits.chart = false;
    else if (limits.reasons > 5) limits.reasons = Math.floor(limits.reasons / 2);
    else {
      const note = `\n\n_Cut at ${cap.toLocaleString("en-US")} characters; the full report is in ${fullReport}._\n`;
      return text.slice(0, cap - note.length) + note;
    }
    text = render(limits);
  }
  return text;
}

// ---------------------------------------------------------------- report

const REPORT_COLUMNS = ["id", "layer", "type", "N×M", "num_evals", "alpha", "sigma", "D", "alpha_weighted", "log_spectral_norm", "log_norm", "stable_rank", "warning"];

function reportRow(layer: LayerRecord): string[] {
  return [
    String(layer.layer_id),
    layerCell(layer.slice_id === undefined ? layer.name : `${layer.name}[${layer.slice_id}]`),
    layer.layer_type,
    `${layer.N}×${layer.M}`,
    String(layer.num_evals),
    formatNumber(layer.alpha),
    formatNumber(layer.sigma),
    formatNumber(layer.D),
    formatNumber(layer.alpha_weighted),
    formatNumber(layer.log_spectral_norm),
    formatNumber(layer.log_norm),
    formatNumber(layer.stable_rank),
    escapeMarkdownCell(layer.warning),
  ];
}

export function renderReportMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const fullReport = options.fullReport ?? DEFAULT_FULL_REPORT;
  const s = report.summary;
  const render = (limits: Limits): string => {
    const out: string[] = [];
    out.push(`## alphawatch report: ${code(report.source.path)}`);
    out.push(
      `${report.source.format}, ${formatBytes(report.source.size)} · ${plural(s.num_layers, "layer")} analyzed` +
        ` · ${plural(report.skipped.length, "layer")} skipped · mean alpha ${formatNumber(s.alpha)}` +
        (s.num_failed_fits > 0 ? ` · ${plural(s.num_failed_fits, "failed fit")}` : ""),
    );
    const warned = report.layers.filter((l) => l.warning !== "");
    if (warned.length > 0) {
      const counts = new Map<string, number>();
      for (const l of warned) counts.set(l.warning, (counts.get(l.warning) ?? 0) + 1);
      out.push(`Warnings: ${[...counts].map(([w, c]) => `${c} ${w}`).join(", ")}.`);
    }
    const rows = report.layers.slice(0, limits.rows).map(reportRow);
    out.push(table(REPORT_COLUMNS, ["r", "l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "l"], rows));
    if (limits.rows < report.layers.length) out.push(cutNote(limits.rows, report.layers.length, "layers", fullReport));
    if (report.skipped.length > 0) {
      out.push(`### Skipped layers\n\n${skippedTable(report.skipped.slice(0, limits.flagged), false)}`);
      if (limits.flagged < report.skipped.length) out.push(cutNote(limits.flagged, report.skipped.length, "skipped layers", fullReport));
    }
    if (limits.chart) {
      const chart = alphaChart("alpha per layer", report.layers.map((l) => l.name), [report.layers.map((l) => l.alpha)]);
      if (chart !== "") out.push(`### Alpha along depth\n\n${chart}`);
    }
    return out.join("\n\n") + "\n";
  };
  return fitToLimit(
    render,
    { rows: report.layers.length, flagged: report.skipped.length, reasons: 0, chart: true },
    options.limit ?? MARKDOWN_LIMIT,
    fullReport,
  );
}

// ---------------------------------------------------------------- comparison

function verdictWords(c: Comparison): string {
  const { layers_failed, layers_warned } = c.summary;
  if (c.verdict === "pass") return "no regression found";
  const parts = [];
  if (layers_failed > 0) parts.push(`${plural(layers_failed, "layer")} regressed`);
  if (layers_warned > 0) parts.push(`${plural(layers_warned, "layer")} warned`);
  const model = c.findings.filter((f) => f.layer === undefined && f.severity !== "info").length;
  if (model > 0) parts.push(`${plural(model, "model-level finding")}`);
  return parts.join(", ");
}

function trapsCell(count: number | null): string {
  return count === null ? "not measured" : String(count);
}

function alphaArrow(l: LayerComparison): string {
  return `${formatNumber(l.changes.alpha.base)} → ${formatNumber(l.changes.alpha.head)}`;
}

function layerName(l: LayerComparison): string {
  return layerCell(l.base_name === l.name ? l.name : `${l.base_name} → ${l.name}`) + (l.head.slice_id === undefined ? "" : `[${l.head.slice_id}]`);
}

const FULL_COLUMNS = ["layer", "verdict", "alpha", "Δ alpha", "Δ alpha_weighted", "Δ D", "Δ log_spectral_norm", "Δ log_norm", "Δ stable_rank", "Δ num_pl_spikes", "Δ rand_num_spikes", "warnings"];

function fullRow(l: LayerComparison): string[] {
  const c = l.changes;
  const warnings = [...l.warnings_appeared.map((w) => `+${w}`), ...l.warnings_gone.map((w) => `-${w}`)].join(", ");
  const notes = [l.deciding ? "" : "small", l.reshaped ? "reshaped" : "", l.dtype_changed ? `${l.base.dtype}→${l.head.dtype}` : ""].filter((n) => n !== "");
  return [
    layerName(l),
    l.verdict + (notes.length > 0 ? ` (${notes.join(", ")})` : ""),
    alphaArrow(l),
    formatDelta(c.alpha.delta),
    formatDelta(c.alpha_weighted.delta),
    formatDelta(c.D.delta),
    formatDelta(c.log_spectral_norm.delta),
    formatDelta(c.log_norm.delta),
    formatDelta(c.stable_rank.delta),
    formatDelta(c.num_pl_spikes.delta, 0),
    c.rand_num_spikes.base === null && c.rand_num_spikes.head === null ? "not measured" : formatDelta(c.rand_num_spikes.delta, 0),
    escapeMarkdownCell(warnings),
  ];
}

function flaggedRow(l: LayerComparison): string[] {
  return [
    layerName(l),
    `${VERDICT_MARK[l.verdict]} ${l.verdict}`,
    alphaArrow(l),
    formatDelta(l.changes.alpha.delta),
    l.alpha_z === null ? "–" : formatNumber(l.alpha_z, 1),
    formatDelta(l.changes.log_spectral_norm.delta),
    escapeMarkdownCell(l.findings.filter((f) => f.severity !== "info").map((f) => f.message.replace(`${l.name}: `, "")).join(" ")),
  ];
}

export function renderComparisonMarkdown(c: Comparison, options: MarkdownOptions = {}): string {
  const fullReport = options.fullReport ?? DEFAULT_FULL_REPORT;
  const flagged = [...c.layers]
    .filter((l) => l.verdict !== "pass")
    .sort((a, b) => (a.verdict === b.verdict ? 0 : a.verdict === "fail" ? -1 : 1));
  const skipped: Array<SkippedRecord & { side: string }> = [
    ...c.base.skipped.map((s) => ({ ...s, side: "base" })),
    ...c.head.skipped.map((s) => ({ ...s, side: "head" })),
  ];
  const s = c.summary;

  const render = (limits: Limits): string => {
    const out: string[] = [];
    out.push(`## ${VERDICT_MARK[c.verdict]} alphawatch compare: ${c.verdict.toUpperCase()}`);
    out.push(`**Verdict: ${c.verdict}**: ${verdictWords(c)}. Base ${code(c.base.source.path)}, head ${code(c.head.source.path)}.`);
    const reasons = c.reasons.slice(0, limits.reasons).map((r) => `- ${r}`);
    if (c.reasons.length > limits.reasons) reasons.push(`- …and ${c.reasons.length - limits.reasons} more (see the tables below).`);
    out.push(reasons.join("\n"));
    out.push(
      table(
        ["", "base", "head", "change"],
        ["l", "r", "r", "r"],
        [
          ["mean alpha (deciding layers)", formatNumber(s.mean_alpha_base), formatNumber(s.mean_alpha_head), formatDelta(s.mean_alpha_delta)],
          ["mean alpha (whole report)", formatNumber(c.base.mean_alpha), formatNumber(c.head.mean_alpha), formatDelta(c.base.mean_alpha === null || c.head.mean_alpha === null ? null : c.head.mean_alpha - c.base.mean_alpha)],
          ["layers analyzed", String(c.base.num_layers), String(c.head.num_layers), formatDelta(c.head.num_layers - c.base.num_layers, 0)],
          ["layers matched / added / removed", "", `${s.matched} / ${s.added} / ${s.removed}`, ""],
          ["regressions: failed / warned layers", "", `${s.layers_failed} / ${s.layers_warned}`, ""],
          ["correlation traps", trapsCell(c.base.num_traps), trapsCell(c.head.num_traps), ""],
        ],
      ),
    );
    if (flagged.length > 0) {
      out.push(`### Regressed and warned layers`);
      out.push(table(["layer", "verdict", "alpha base → head", "Δ alpha", "Δ alpha / σ", "Δ log_spectral_norm", "why"], ["l", "l", "r", "r", "r", "r", "l"], flagged.slice(0, limits.flagged).map(flaggedRow)));
      if (limits.flagged < flagged.length) out.push(cutNote(limits.flagged, flagged.length, "flagged layers", fullReport));
    }
    const rows = c.layers.slice(0, limits.rows).map(fullRow);
    const cut = limits.rows < c.layers.length ? `\n\n${cutNote(limits.rows, c.layers.length, "layers", fullReport)}` : "";
    out.push(
      `<details><summary>All ${plural(c.layers.length, "matched layer")}</summary>\n\n` +
        `${table(FULL_COLUMNS, ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "l"], rows)}${cut}\n\n</details>`,
    );
    if (c.added.length > 0 || c.removed.length > 0) {
      const changed = [
        ...c.removed.map((l) => [layerCell(l.name), "removed (only in base)", `${l.N}×${l.M}`]),
        ...c.added.map((l) => [layerCell(l.name), "added (only in head)", `${l.N}×${l.M}`]),
      ];
      out.push(`### Added and removed layers\n\n${table(["layer", "change", "N×M"], ["l", "l", "r"], changed.slice(0, limits.flagged))}`);
    }
    if (skipped.length > 0) {
      out.push(`### Skipped layers\n\n${skippedTable(skipped.slice(0, limits.flagged), true)}`);
      if (limits.flagged < skipped.length) out.push(cutNote(limits.flagged, skipped.length, "skipped layers", fullReport));
    }
    if (limits.chart) {
      const chart = alphaChart(
        "alpha per layer: base (first line), head (second line)",
        c.layers.map((l) => l.name),
        [c.layers.map((l) => l.changes.alpha.base), c.layers.map((l) => l.changes.alpha.head)],
      );
      if (chart !== "") out.push(`### Alpha along depth\n\n${chart}`);
    }
    return out.join("\n\n") + "\n";
  };
  return fitToLimit(
    render,
    { rows: c.layers.length, flagged: Math.max(flagged.length, skipped.length, c.added.length + c.removed.length), reasons: 20, chart: true },
    options.limit ?? MARKDOWN_LIMIT,
    fullReport,
  );
}
