/**
 * "Correlation flow": alpha of each layer along depth, one series per report (base and head when
 * comparing), each point with a ±sigma error bar, over the heavy-tailed range [2, 6] shaded.
 */
import type { Comparison } from "../compare/comparison.js";
import type { LayerRecord, Report } from "../report.js";
import { escapeXml, formatNumber } from "./format.js";
import { PLOT, closeSvg, drawLegend, emptyPlot, linearAxis, openSvg, px, HEIGHT, type LegendEntry } from "./svg-frame.js";

export interface DepthPoint {
  alpha: number;
  sigma: number | null;
}

export interface DepthSeries {
  label: string;
  color: string;
  /** One entry per category; null where the layer has no fitted alpha. */
  points: Array<DepthPoint | null>;
}

const BASE_COLOR = "#718096";
const HEAD_COLOR = "#dd6b20";
const SINGLE_COLOR = "#2b6cb0";
const LONG_LABEL = 18;
const MAX_NAMED_TICKS = 16;

export function renderReportDepthSvg(report: Report): string {
  return renderDepthSvg(
    "Alpha along depth",
    report.layers.map(layerLabel),
    [{ label: "alpha ± sigma", color: SINGLE_COLOR, points: report.layers.map(depthPoint) }],
  );
}

export function renderComparisonDepthSvg(comparison: Comparison): string {
  return renderDepthSvg(
    "Alpha along depth: base and head",
    comparison.layers.map((l) => layerLabel(l.head)),
    [
      { label: "base alpha ± sigma", color: BASE_COLOR, points: comparison.layers.map((l) => depthPoint(l.base)) },
      { label: "head alpha ± sigma", color: HEAD_COLOR, points: comparison.layers.map((l) => depthPoint(l.head)) },
    ],
  );
}

function layerLabel(layer: LayerRecord): string {
  return layer.slice_id === undefined ? layer.name : `${layer.name}[${layer.slice_id}]`;
}

function depthPoint(layer: LayerRecord): DepthPoint | null {
  if (layer.status !== "success" || layer.alpha === null || !Number.isFinite(layer.alpha)) return null;
  const sigma = layer.sigma !== null && Number.isFinite(layer.sigma) && layer.sigma >= 0 ? layer.sigma : null;
  return { alpha: layer.alpha, sigma };
}

export function renderDepthSvg(title: string, categories: readonly string[], series: readonly DepthSeries[]): string {
  const values = series.flatMap((s) => s.points.filter((p): p is DepthPoint => p !== null));
  if (values.length === 0) return emptyPlot("depth", title, "no layer has a fitted alpha");
  const top = Math.max(7, ...values.map((p) => p.alpha + (p.sigma ?? 0)));
  const bottom = Math.min(0, ...values.map((p) => p.alpha - (p.sigma ?? 0)));
  const y = linearAxis(bottom, top, PLOT.bottom, PLOT.top);
  const n = categories.length;
  const slot = (PLOT.right - PLOT.left) / n;
  const xAt = (i: number) => PLOT.left + slot * (i + 0.5);

  const subtitle = `${n} ${n === 1 ? "layer" : "layers"} in depth order · shaded: the heavy-tailed range 2 ≤ alpha ≤ 6`;
  const parts = [openSvg("depth", title, subtitle)];
  const bandTop = y.at(6);
  parts.push(
    `<rect class="aw-band" x="${PLOT.left}" y="${px(bandTop)}" width="${PLOT.right - PLOT.left}" height="${px(y.at(2) - bandTop)}" fill="#c6f6d5" fill-opacity="0.6"/>`,
  );
  for (const tick of y.ticks) {
    const yy = px(y.at(tick.value));
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(tick.label)}</text>`);
  }
  parts.push(xTicks(categories, xAt));
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`,
  );
  const midY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(`<text x="16" y="${midY}" text-anchor="middle" transform="rotate(-90 16 ${midY})">alpha</text>`);

  const spread = Math.min(4, slot / 6);
  series.forEach((s, k) => {
    const offset = series.length === 1 ? 0 : (k - (series.length - 1) / 2) * 2 * spread;
    const path: string[] = [];
    const marks: string[] = [];
    s.points.forEach((p, i) => {
      if (p === null) return;
      const cx = xAt(i) + offset;
      const cy = y.at(p.alpha);
      path.push(`${path.length === 0 ? "M" : "L"}${px(cx)} ${px(cy)}`);
      if (p.sigma !== null && p.sigma > 0) {
        const y1 = px(y.at(p.alpha - p.sigma));
        const y2 = px(y.at(p.alpha + p.sigma));
        marks.push(
          `<line class="aw-errorbar" x1="${px(cx)}" x2="${px(cx)}" y1="${y1}" y2="${y2}" stroke="${s.color}"/>` +
            `<line x1="${px(cx - 3)}" x2="${px(cx + 3)}" y1="${y1}" y2="${y1}" stroke="${s.color}"/>` +
            `<line x1="${px(cx - 3)}" x2="${px(cx + 3)}" y1="${y2}" y2="${y2}" stroke="${s.color}"/>`,
        );
      }
      marks.push(
        `<circle class="aw-point" cx="${px(cx)}" cy="${px(cy)}" r="3.5" fill="${s.color}"><title>${escapeXml(`${categories[i]}: alpha ${formatNumber(p.alpha)} ± ${formatNumber(p.sigma)}`)}</title></circle>`,
      );
    });
    parts.push(`<g class="aw-series" data-series="${escapeXml(s.label)}">`);
    if (path.length > 1) parts.push(`<path d="${path.join(" ")}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-opacity="0.7"/>`);
    parts.push(...marks, "</g>");
  });
  const legend: LegendEntry[] = series.map((s) => ({ label: s.label, color: s.color, shape: "line" }));
  parts.push(drawLegend(legend), closeSvg());
  return parts.join("");
}

/** Layer names under the axis when they fit, otherwise every k-th position number. */
function xTicks(categories: readonly string[], xAt: (i: number) => number): string {
  const n = categories.length;
  const parts: string[] = [];
  if (n <= MAX_NAMED_TICKS) {
    categories.forEach((name, i) => {
      const label = name.length > LONG_LABEL ? `…${name.slice(-(LONG_LABEL - 1))}` : name;
      const xx = px(xAt(i));
      const yy = PLOT.bottom + 12;
      parts.push(`<text x="${xx}" y="${yy}" text-anchor="end" transform="rotate(-30 ${xx} ${yy})">${escapeXml(label)}</text>`);
    });
    parts.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 8}" text-anchor="middle">layer (depth order)</text>`);
  } else {
    const every = Math.ceil(n / 12);
    for (let i = 0; i < n; i += every) {
      parts.push(`<text x="${px(xAt(i))}" y="${PLOT.bottom + 16}" text-anchor="middle">${i + 1}</text>`);
    }
    parts.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 14}" text-anchor="middle">layer (position in depth order)</text>`);
  }
  return parts.join("");
}
