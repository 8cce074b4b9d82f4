/**
 * The ESD of one layer as weightwatcher draws it first: a log-log histogram of the eigenvalue
 * density, the fitted power law over the tail, and xmin marked.
 */
import type { LayerRecord } from "../report.js";
import { formatNumber } from "./format.js";
import { logHistogram, positiveValues } from "./histogram.js";
import { PLOT, closeSvg, drawAxes, drawLegend, emptyPlot, logAxis, openSvg, px, type LegendEntry } from "./svg-frame.js";

const BINS = 40;
const BAR = "#2b6cb0";
const FIT = "#c53030";

export function renderEsdSvg(layer: LayerRecord): string {
  const title = `ESD of ${layer.name}`;
  const evals = positiveValues(layer.evals ?? []);
  if (evals.length < 2) return emptyPlot("esd", title, "no eigenvalues in the report (analyze with --evals)");

  const n = evals.length;
  const { edges, counts } = logHistogram(evals, BINS);
  // Density per unit eigenvalue, so the power-law p(λ) can be drawn on the same scale.
  const density = counts.map((c, i) => c / (n * (edges[i + 1]! - edges[i]!)));
  const fit = fitCurve(layer, n, edges[0]!, edges[BINS]!);
  const positiveDensity = [...density, ...fit.map((p) => p.y)].filter((d) => d > 0);
  const x = logAxis(edges[0]!, edges[BINS]!, PLOT.left, PLOT.right);
  const y = logAxis(Math.min(...positiveDensity), Math.max(...positiveDensity), PLOT.bottom, PLOT.top);
  const floor = PLOT.bottom;

  const parts = [openSvg("esd", title, subtitle(layer)), drawAxes(x, y, "eigenvalue λ (log scale)", "density (log scale)")];
  parts.push(`<g class="aw-bars" fill="${BAR}" fill-opacity="0.6">`);
  density.forEach((d, i) => {
    if (d <= 0) return;
    const left = x.at(edges[i]!);
    const top = y.at(d);
    parts.push(`<rect x="${px(left)}" y="${px(top)}" width="${px(x.at(edges[i + 1]!) - left)}" height="${px(floor - top)}"/>`);
  });
  parts.push("</g>");
  const legend: LegendEntry[] = [{ label: "ESD density", color: BAR, shape: "box" }];
  if (fit.length > 0) {
    const path = fit.map((p, i) => `${i === 0 ? "M" : "L"}${px(x.at(p.x))} ${px(y.at(p.y))}`).join(" ");
    parts.push(`<path class="aw-fit" d="${path}" fill="none" stroke="${FIT}" stroke-width="2"/>`);
    legend.push({ label: `power law, alpha ${formatNumber(layer.alpha)}`, color: FIT, shape: "line" });
  }
  if (layer.xmin !== null && layer.xmin > 0 && layer.status === "success") {
    const xx = px(x.at(layer.xmin));
    parts.push(`<line class="aw-xmin" x1="${xx}" x2="${xx}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="${FIT}" stroke-dasharray="5 3"/>`);
    parts.push(`<text x="${px(x.at(layer.xmin) + 4)}" y="${PLOT.bottom - 6}" fill="${FIT}">xmin</text>`);
    legend.push({ label: `xmin ${formatNumber(layer.xmin)}`, color: FIT, shape: "line", dashed: true });
  }
  parts.push(drawLegend(legend), closeSvg());
  return parts.join("");
}

function subtitle(layer: LayerRecord): string {
  if (layer.status !== "success" || layer.alpha === null) return `${layer.num_evals} eigenvalues · power-law fit failed`;
  return `alpha ${formatNumber(layer.alpha)} ± ${formatNumber(layer.sigma)} · D ${formatNumber(layer.D)} · ${layer.num_pl_spikes} of ${layer.num_evals} eigenvalues in the tail`;
}

/**
 * The fitted density over [xmin, λmax]: the tail holds num_pl_spikes of n eigenvalues, so
 * p(λ) = (num_pl_spikes / n) · (alpha − 1) / xmin · (λ / xmin)^(−alpha).
 */
function fitCurve(layer: LayerRecord, n: number, lo: number, hi: number): Array<{ x: number; y: number }> {
  const { alpha, xmin, num_pl_spikes } = layer;
  if (layer.status !== "success" || alpha === null || xmin === null || num_pl_spikes === null || !(alpha > 1) || !(xmin > 0)) return [];
  const start = Math.max(xmin, lo);
  const end = Math.max(hi, start);
  const scale = (num_pl_spikes / n) * ((alpha - 1) / xmin);
  const points = [];
  for (let i = 0; i <= 24; i++) {
    const v = start * (end / start) ** (i / 24);
    points.push({ x: v, y: scale * (v / xmin) ** -alpha });
  }
  return points;
}
