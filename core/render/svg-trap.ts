/**
 * The correlation-trap picture: the layer's ESD and the ESD of the same matrix with its elements
 * shuffled, overlaid on a log axis, with the largest randomized eigenvalue marked. A trap shows
 * as that marker standing far to the right of the randomized bulk.
 */
import type { LayerRecord } from "../report.js";
import { formatNumber } from "./format.js";
import { logHistogram, positiveValues } from "./histogram.js";
import { PLOT, closeSvg, drawAxes, drawLegend, emptyPlot, linearAxis, logAxis, openSvg, px } from "./svg-frame.js";

const BINS = 50;
const ORIGINAL = "#2f855a";
const RANDOM = "#c53030";
const MAX_RAND = "#dd6b20";

export function renderTrapSvg(layer: LayerRecord): string {
  const title = `Randomized ESD of ${layer.name}`;
  const evals = positiveValues(layer.evals ?? []);
  const rand = positiveValues(layer.rand_evals ?? []);
  if (evals.length < 2 || rand.length < 2) {
    return emptyPlot("trap", title, "needs both eigenvalue sets (analyze with --evals and randomize)");
  }
  const all = [...evals, ...rand];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const original = logHistogram(evals, BINS, lo, hi);
  const randomized = logHistogram(rand, BINS, lo, hi);
  // Share of each set per bin, so two sets of different sizes compare.
  const shareOriginal = original.counts.map((c) => c / evals.length);
  const shareRandom = randomized.counts.map((c) => c / rand.length);
  const x = logAxis(original.edges[0]!, original.edges[BINS]!, PLOT.left, PLOT.right);
  const y = linearAxis(0, Math.max(...shareOriginal, ...shareRandom), PLOT.bottom, PLOT.top);
  const maxRand = layer.max_rand_eval ?? Math.max(...rand);

  const traps = layer.rand_num_spikes;
  const subtitle =
    traps === undefined || traps === null || traps < 0
      ? `max randomized λ ${formatNumber(maxRand)} · λmax ${formatNumber(layer.lambda_max)}`
      : `${traps === 0 ? "no correlation trap" : `${traps} correlation ${traps === 1 ? "trap" : "traps"}`} · max randomized λ ${formatNumber(maxRand)} · λmax ${formatNumber(layer.lambda_max)}`;

  const parts = [openSvg("trap", title, subtitle), drawAxes(x, y, "eigenvalue λ (log scale)", "share of eigenvalues per bin")];
  for (const [cls, color, share, edges] of [
    ["aw-bars-original", ORIGINAL, shareOriginal, original.edges],
    ["aw-bars-random", RANDOM, shareRandom, randomized.edges],
  ] as const) {
    parts.push(`<g class="${cls}" fill="${color}" fill-opacity="0.5">`);
    share.forEach((s, i) => {
      if (s <= 0) return;
      const left = x.at(edges[i]!);
      const top = y.at(s);
      parts.push(`<rect x="${px(left)}" y="${px(top)}" width="${px(x.at(edges[i + 1]!) - left)}" height="${px(PLOT.bottom - top)}"/>`);
    });
    parts.push("</g>");
  }
  const xx = px(Math.min(PLOT.right, x.at(maxRand)));
  parts.push(`<line class="aw-max-rand" x1="${xx}" x2="${xx}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="${MAX_RAND}" stroke-width="2"/>`);
  parts.push(
    drawLegend([
      { label: "original ESD", color: ORIGINAL, shape: "box" },
      { label: "randomized ESD", color: RANDOM, shape: "box" },
      { label: "max randomized λ", color: MAX_RAND, shape: "line" },
    ]),
    closeSvg(),
  );
  return parts.join("");
}
