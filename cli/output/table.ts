/** Plain-text table of a Report for the terminal: one row per layer, then skipped layers and the summary. */
import type { LayerRecord, Report } from "../../core/report.js";
import { formatNumber } from "./number-format.js";

interface Column {
  header: string;
  value(layer: LayerRecord): string;
  align: "left" | "right";
}

const COLUMNS: Column[] = [
  { header: "id", value: (l) => String(l.layer_id) + (l.slice_id === undefined ? "" : `.${l.slice_id}`), align: "right" },
  { header: "name", value: (l) => l.name, align: "left" },
  { header: "type", value: (l) => l.layer_type, align: "left" },
  { header: "N", value: (l) => String(l.N), align: "right" },
  { header: "M", value: (l) => String(l.M), align: "right" },
  { header: "alpha", value: (l) => formatNumber(l.alpha, 3) + (l.few_evals === true && l.alpha !== null ? "*" : ""), align: "right" },
  { header: "sigma", value: (l) => formatNumber(l.sigma, 3), align: "right" },
  { header: "D", value: (l) => formatNumber(l.D, 3), align: "right" },
  { header: "spikes", value: (l) => formatNumber(l.num_pl_spikes), align: "right" },
  { header: "evals", value: (l) => String(l.num_evals), align: "right" },
  { header: "lambda_max", value: (l) => formatNumber(l.lambda_max, 4), align: "right" },
  { header: "log_spec_norm", value: (l) => formatNumber(l.log_spectral_norm, 3), align: "right" },
  { header: "stable_rank", value: (l) => formatNumber(l.stable_rank, 2), align: "right" },
  { header: "warning", value: (l) => (l.status === "failed" && l.warning === "" ? "fit failed" : l.warning), align: "left" },
];

export function renderTable(rows: string[][], align: Array<"left" | "right">): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (align[column] === "right" ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatReportTable(report: Report): string {
  const lines: string[] = [];
  lines.push(`${report.source.path} (${report.source.format}, ${report.layers.length} layers analyzed, ${report.skipped.length} tensors skipped)`);
  lines.push("");
  if (report.layers.length > 0) {
    const rows = [COLUMNS.map((c) => c.header), ...report.layers.map((layer) => COLUMNS.map((c) => c.value(layer)))];
    lines.push(renderTable(rows, COLUMNS.map((c) => c.align)));
  } else {
    lines.push("No layer could be analyzed.");
  }
  if (report.skipped.length > 0) {
    lines.push("", "Skipped:");
    for (const skip of report.skipped) lines.push(`  ${skip.name}: ${skip.reason}`);
  }
  const summary = report.summary;
  lines.push("", "Summary:");
  const entries: Array<[string, number | undefined]> = [
    ["reliable_alpha", summary.reliable_alpha],
    ["alpha", summary.alpha],
    ["alpha_weighted", summary.alpha_weighted],
    ["log_alpha_norm", summary.log_alpha_norm],
    ["log_norm", summary.log_norm],
    ["log_spectral_norm", summary.log_spectral_norm],
    ["stable_rank", summary.stable_rank],
  ];
  for (const [key, value] of entries) {
    if (value !== undefined) lines.push(`  ${key.padEnd(18)} ${formatNumber(value, 4)}`);
  }
  lines.push(`  ${"layers".padEnd(18)} ${summary.num_layers}` + (summary.num_failed_fits > 0 ? ` (${summary.num_failed_fits} failed fits, excluded from alpha means)` : ""));
  if (summary.num_reliable_layers !== undefined && summary.num_reliable_layers < summary.num_layers) {
    const threshold = summary.min_reliable_evals ?? report.options.min_reliable_evals;
    lines.push("", `* fit on fewer than ${threshold} eigenvalues: unreliable, left out of reliable_alpha (${summary.num_reliable_layers} of ${summary.num_layers} layers count)`);
  }
  if (report.options.compat !== "default") lines.push(`  ${"compat".padEnd(18)} ${report.options.compat}`);
  return lines.join("\n") + "\n";
}
