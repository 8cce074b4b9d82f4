/**
 * The frame every SVG plot shares: a fixed canvas, linear and log10 axes with ticks, and a legend.
 * Output is a string built from numbers rounded to 0.01 px, so the same input gives the same bytes.
 */
import { escapeXml, formatNumber } from "./format.js";

export const WIDTH = 640;
export const HEIGHT = 380;
export const MARGIN = { left: 64, right: 20, top: 44, bottom: 64 } as const;
export const PLOT = {
  left: MARGIN.left,
  right: WIDTH - MARGIN.right,
  top: MARGIN.top,
  bottom: HEIGHT - MARGIN.bottom,
} as const;

/** Pixel coordinate text, rounded so outputs are stable. */
export function px(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

export interface Axis {
  /** Data value → pixel. */
  at(value: number): number;
  ticks: Array<{ value: number; label: string }>;
}

/** Linear axis over [min, max] with about five round ticks. */
export function linearAxis(min: number, max: number, from: number, to: number): Axis {
  if (!(max > min)) max = min + 1;
  const step = niceStep((max - min) / 5);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const at = (value: number) => from + ((value - lo) / (hi - lo)) * (to - from);
  const ticks = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) {
    const value = lo + i * step;
    ticks.push({ value, label: formatNumber(Number(value.toPrecision(12)), decimalsOf(step)) });
  }
  return { at, ticks };
}

/** log10 axis over [min, max] (both > 0), widened to whole decades, a tick per decade. */
export function logAxis(min: number, max: number, from: number, to: number): Axis {
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo + 1;
  const at = (value: number) => from + ((Math.log10(value) - lo) / (hi - lo)) * (to - from);
  const every = Math.ceil((hi - lo) / 8);
  const ticks = [];
  for (let e = lo; e <= hi; e += every) ticks.push({ value: 10 ** e, label: `1e${e}` });
  return { at, ticks };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 2.5 ? 2.5 : scaled <= 5 ? 5 : 10) * power;
}

/** Decimals needed to print every multiple of `step` exactly (0.25 → 2, 5 → 0). */
function decimalsOf(step: number): number {
  const text = String(Number(step.toPrecision(12)));
  if (text.includes("e")) return 3;
  return text.includes(".") ? text.split(".")[1]!.length : 0;
}

/** Opening of a plot: svg element with accessible title, background, and the plot title. */
export function openSvg(kind: string, title: string, subtitle: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="aw-plot aw-${kind}" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="12">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>` +
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>` +
    `<text x="${WIDTH / 2}" y="34" text-anchor="middle" fill="#444444">${escapeXml(subtitle)}</text>`
  );
}

export function closeSvg(): string {
  return "</svg>";
}

/** Both axes with grid lines, tick labels and axis titles. */
export function drawAxes(x: Axis, y: Axis, xTitle: string, yTitle: string): string {
  const parts: string[] = [];
  for (const tick of y.ticks) {
    const yy = px(y.at(tick.value));
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PLOT.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(tick.label)}</text>`);
  }
  for (const tick of x.ticks) {
    const xx = px(x.at(tick.value));
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${xx}" y="${PLOT.bottom + 16}" text-anchor="middle">${escapeXml(tick.label)}</text>`);
  }
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`,
  );
  parts.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  const midY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(`<text x="16" y="${midY}" text-anchor="middle" transform="rotate(-90 16 ${midY})">${escapeXml(yTitle)}</text>`);
  return parts.join("");
}

export interface LegendEntry {
  label: string;
  color: string;
  /** "box" for histogram bars, "line" for curves and markers. */
  shape: "box" | "line";
  dashed?: boolean;
}

/** Legend in the top-right corner of the plot area. */
export function drawLegend(entries: readonly LegendEntry[]): string {
  const width = 12 + Math.max(...entries.map((e) => e.label.length)) * 6.5 + 28;
  const left = PLOT.right - width - 6;
  const parts = [
    `<rect x="${px(left)}" y="${PLOT.top + 6}" width="${px(width)}" height="${entries.length * 18 + 6}" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc"/>`,
  ];
  entries.forEach((entry, i) => {
    const y = PLOT.top + 20 + i * 18;
    parts.push(
      entry.shape === "box"
        ? `<rect x="${px(left + 8)}" y="${y - 6}" width="16" height="10" fill="${entry.color}" fill-opacity="0.6"/>`
        : `<line x1="${px(left + 8)}" x2="${px(left + 24)}" y1="${y - 1}" y2="${y - 1}" stroke="${entry.color}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
    );
    parts.push(`<text x="${px(left + 30)}" y="${y}" dominant-baseline="middle">${escapeXml(entry.label)}</text>`);
  });
  return parts.join("");
}

/** A plot that has nothing to draw says so instead of drawing empty axes. */
export function emptyPlot(kind: string, title: string, why: string): string {
  return openSvg(kind, title, why) + closeSvg();
}
