/**
 * Per-layer alpha across the checkpoints of one run: one line per layer name, the checkpoints in
 * the order given, each point with a ±sigma error bar. Layers with fewer eigenvalues than the
 * series' min_fit_evals (left out of the reliable means) are drawn dashed with hollow markers.
 */
import type { SeriesCheckpoint } from "../series/analyze-series.js";
import { escapeXml, formatNumber } from "./format.js";
import { seriesColor, shortLabel } from "./series-palette.js";
import { HEIGHT, PLOT, closeSvg, drawLegend, emptyPlot, linearAxis, openSvg, px, type LegendEntry } from "./svg-frame.js";

const MAX_LEGEND = 10;

export function renderSeriesLayersSvg(title: string, checkpoints: readonly SeriesCheckpoint[], minFitEvals: number): string {
  const names = [...new Set(checkpoints.flatMap((c) => c.layers.map((l) => l.name)))];
  const fitted = checkpoints.flatMap((c) => c.layers.filter((l) => l.status === "success" && l.alpha !== null && Number.isFinite(l.alpha)));
  if (fitted.length === 0) return emptyPlot("series-layers", title, "no layer has a fitted alpha");
  const sigmaOf = (s: number | null) => (s !== null && Number.isFinite(s) && s > 0 ? s : 0);
  const top = Math.max(...fitted.map((l) => l.alpha! + sigmaOf(l.sigma)));
  const bottom = Math.min(1, ...fitted.map((l) => l.alpha! - sigmaOf(l.sigma)));
  const y = linearAxis(bottom, top, PLOT.bottom, PLOT.top);
  const n = checkpoints.length;
  const slot = (PLOT.right - PLOT.left) / n;
  const xAt = (i: number) => PLOT.left + slot * (i + 0.5);

  const parts = [openSvg("series-layers", title, `alpha ± sigma per layer across ${n} checkpoints · hollow, dashed: fewer than ${minFitEvals} eigenvalues`)];
  for (const tick of y.ticks) {
    const yy = px(y.at(tick.value));
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(tick.label)}</text>`);
  }
  checkpoints.forEach((c, i) => {
    const xx = px(xAt(i));
    const yy = PLOT.bottom + 12;
    parts.push(`<text x="${xx}" y="${yy}" text-anchor="end" font-size="10" transform="rotate(-30 ${xx} ${yy})">${escapeXml(shortLabel(c.file))}</text>`);
  });
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 6}" text-anchor="middle">checkpoint (in the order given)</text>`,
  );
  const midY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(`<text x="16" y="${midY}" text-anchor="middle" transform="rotate(-90 16 ${midY})">alpha</text>`);

  const legend: LegendEntry[] = [];
  const spread = Math.min(3, slot / (2 * Math.max(1, names.length)));
  names.forEach((name, k) => {
    const color = seriesColor(k);
    const offset = (k - (names.length - 1) / 2) * spread;
    const path: string[] = [];
    const marks: string[] = [];
    // Dashed when no checkpoint has enough eigenvalues in this layer; single points are hollow either way.
    let unreliable = true;
    let penDown = false;
    checkpoints.forEach((c, i) => {
      const layer = c.layers.find((l) => l.name === name);
      if (layer === undefined || layer.status !== "success" || layer.alpha === null || !Number.isFinite(layer.alpha)) {
        penDown = false; // a checkpoint without this layer's fit breaks the line
        return;
      }
      if (layer.num_evals >= minFitEvals) unreliable = false;
      const cx = xAt(i) + offset;
      const cy = y.at(layer.alpha);
      path.push(`${penDown ? "L" : "M"}${px(cx)} ${px(cy)}`);
      penDown = true;
      const sigma = sigmaOf(layer.sigma);
      if (sigma > 0) {
        const y1 = px(y.at(layer.alpha - sigma));
        const y2 = px(y.at(layer.alpha + sigma));
        marks.push(
          `<line class="aw-errorbar" x1="${px(cx)}" x2="${px(cx)}" y1="${y1}" y2="${y2}" stroke="${color}"/>` +
            `<line x1="${px(cx - 3)}" x2="${px(cx + 3)}" y1="${y1}" y2="${y1}" stroke="${color}"/>` +
            `<line x1="${px(cx - 3)}" x2="${px(cx + 3)}" y1="${y2}" y2="${y2}" stroke="${color}"/>`,
        );
      }
      const fill = layer.num_evals < minFitEvals ? "#ffffff" : color;
      marks.push(
        `<circle class="aw-point" cx="${px(cx)}" cy="${px(cy)}" r="3.5" fill="${fill}" stroke="${color}"><title>${escapeXml(
          `${shortLabel(c.file)} ${name}: alpha ${formatNumber(layer.alpha)} ± ${formatNumber(layer.sigma)} (${layer.num_evals} eigenvalues)`,
        )}</title></circle>`,
      );
    });
    const d = path.join(" ");
    parts.push(`<g class="aw-series" data-series="${escapeXml(name)}">`);
    if (d.includes("L")) parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-opacity="0.7"${unreliable ? ' stroke-dasharray="5 3"' : ""}/>`);
    parts.push(...marks, "</g>");
    if (k < MAX_LEGEND) legend.push({ label: name, color, shape: "line", dashed: unreliable });
  });
  parts.push(drawLegend(legend), closeSvg());
  return parts.join("");
}
