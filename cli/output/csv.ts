/** CSV of a Report's layers: every scalar column, weightwatcher names, full float64 precision. */
import type { LayerRecord, Report } from "../../core/report.js";

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isNaN(value) ? "nan" : Number.isFinite(value) ? String(value) : value > 0 ? "inf" : "-inf";
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatReportCsv(report: Report): string {
  const columns: string[] = [];
  for (const layer of report.layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (!columns.includes(key) && !Array.isArray(value) && (typeof value !== "object" || value === null)) columns.push(key);
    }
  }
  const lines = [columns.join(",")];
  for (const layer of report.layers) {
    lines.push(columns.map((column) => cell((layer as unknown as Record<string, unknown>)[column as keyof LayerRecord])).join(","));
  }
  return lines.join("\n") + "\n";
}
