/** A stored report in the formats GET /v1/analyses/{id} offers besides JSON (core/render). */
import { renderReportHtml, renderReportMarkdown } from "../../../core/render/index.js";
import type { Report } from "../../../core/report.js";

export type ReportFormat = "json" | "markdown" | "html";

export function renderReport(report: Report, format: "markdown" | "html"): { body: string; contentType: string } {
  if (format === "markdown") return { body: renderReportMarkdown(report), contentType: "text/markdown; charset=utf-8" };
  return { body: renderReportHtml(report), contentType: "text/html; charset=utf-8" };
}
