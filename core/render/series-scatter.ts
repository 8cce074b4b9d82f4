/**
 * Scatter of one summary metric (x) against the target (y) over a series: each checkpoint a
 * labelled point colored by its group, the pooled least-squares line solid, each group's dashed.
 */
import type { SeriesMetric } from "../series/checkpoint-summary.js";
import type { SeriesResult } from "../series/analyze-series.js";
import type { MetricAssociation } from "../series/metric-association.js";
import { escapeXml, formatNumber } from "./format.js";
import { seriesColor, shortLabel } from "./series-palette.js";
import { PLOT, closeSvg, drawAxes, drawLegend, emptyPlot, linearAxis, openSvg, px, type LegendEntry } from "./svg-frame.js";

interface ScatterPoint {
  label: string;
  group: string;
  x: number;
  y: number;
  color: string;
}

/** Group names in first-seen order ("" when a checkpoint has none). */
export function groupNames(result: SeriesResult): string[] {
  return [...new Set(result.checkpoints.map((c) => c.group ?? ""))];
}

export function renderSeriesScatterSvg(result: SeriesResult, metric: SeriesMetric): string {
  const target = result.settings.target;
  const title = `${metric} vs ${target?.column ?? "target"}`;
  if (target === undefined) return emptyPlot("series-scatter", title, "no target: give --labels to plot metrics against it");
  const groups = groupNames(result);
  const points: ScatterPoint[] = [];
  for (const c of result.checkpoints) {
    const x = c.summary[metric];
    if (c.target === undefined || x === null || !Number.isFinite(x)) continue;
    points.push({ label: shortLabel(c.file), x, y: c.target, color: seriesColor(groups.indexOf(c.group ?? "")), group: c.group ?? "" });
  }
  if (points.length === 0) return emptyPlot("series-scatter", title, `no checkpoint has both ${metric} and ${target.column}`);
  const pooled = result.metrics[metric];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  // A margin keeps points (and their labels) off the frame when an extreme falls on a round tick.
  const padded = (values: number[]): [number, number] => {
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const pad = (hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  };
  const xAxis = linearAxis(...padded(xs), PLOT.left, PLOT.right);
  const yAxis = linearAxis(...padded(ys), PLOT.bottom, PLOT.top);
  const parts = [openSvg("series-scatter", title, subtitle(pooled, result)), drawAxes(xAxis, yAxis, metric, target.column)];

  // Each line spans the metric range of the points it was fitted to.
  const line = (fit: MetricAssociation | undefined, span: readonly number[], color: string, dashed: boolean, cls: string) => {
    const [xLo, xHi] = [Math.min(...span), Math.max(...span)];
    if (fit?.slope === null || fit?.slope === undefined || fit.intercept === null || !(xHi > xLo)) return "";
    const y1 = fit.slope * xLo + fit.intercept;
    const y2 = fit.slope * xHi + fit.intercept;
    return (
      `<line class="${cls}" x1="${px(xAxis.at(xLo))}" x2="${px(xAxis.at(xHi))}" y1="${px(yAxis.at(y1))}" y2="${px(yAxis.at(y2))}" ` +
      `stroke="${color}" stroke-width="1.5"${dashed ? ' stroke-dasharray="5 3"' : ""} clip-path="url(#aw-plot-clip)"/>`
    );
  };
  parts.push(
    `<clipPath id="aw-plot-clip"><rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}"/></clipPath>`,
  );
  const legend: LegendEntry[] = [];
  if (result.groups !== undefined) {
    groups.forEach((name, i) => {
      const analysis = result.groups!.by_group[name];
      if (analysis === undefined) return;
      const color = seriesColor(i);
      // A group whose target is within noise gets no line: there is no trend to draw.
      if (!analysis.noise.within_noise) parts.push(line(analysis.metrics[metric], points.filter((p) => p.group === name).map((p) => p.x), color, true, "aw-group-fit"));
      legend.push({ label: `${name === "" ? "(no group)" : name}${analysis.noise.within_noise ? " (within noise)" : ""}`, color, shape: "line", dashed: true });
    });
  }
  parts.push(line(pooled, xs, "#1a202c", false, "aw-fit"));
  legend.push({ label: result.groups === undefined ? "least squares" : "least squares, all pooled", color: "#1a202c", shape: "line" });
  for (const p of points) {
    const cx = px(xAxis.at(p.x));
    const cy = px(yAxis.at(p.y));
    parts.push(
      `<circle class="aw-point" cx="${cx}" cy="${cy}" r="4" fill="${p.color}" fill-opacity="0.85"><title>${escapeXml(`${p.label}: ${metric} ${formatNumber(p.x)}, ${target.column} ${formatNumber(p.y, 4)}`)}</title></circle>`,
      `<text class="aw-point-label" x="${px(xAxis.at(p.x) + 6)}" y="${px(yAxis.at(p.y) - 5)}" font-size="9" fill="#4a5568">${escapeXml(p.label)}</text>`,
    );
  }
  parts.push(drawLegend(legend), closeSvg());
  return parts.join("");
}

function subtitle(pooled: MetricAssociation | undefined, result: SeriesResult): string {
  if (pooled === undefined) return "";
  const scope = result.groups === undefined ? "" : "pooled: ";
  const noise = result.target_noise?.within_noise ? " · within noise" : "";
  return (
    `${scope}n ${pooled.n} · Spearman ${formatNumber(pooled.spearman, 2)} (p ${formatNumber(pooled.spearman_p, 3)}) · ` +
    `Kendall ${formatNumber(pooled.kendall, 2)} · R² ${formatNumber(pooled.r2, 2)} · RMSE ${formatNumber(pooled.rmse, 4)}${noise}`
  );
}
