/**
 * A small quality badge for model cards: the latest analyzed version's mean alpha, colored by
 * weightwatcher's bands (2 <= alpha <= 6 well trained; below 2 over-trained; above 6 under-trained).
 */
import { escapeXml } from "../../core/render/index.js";

export interface BadgeState {
  alpha: number | null;
}

const GREEN = "#2e7d32";
const RED = "#c62828";
const ORANGE = "#ef6c00";
const GREY = "#757575";
const LABEL = "alpha";

export function badgeColor(alpha: number | null): string {
  if (alpha === null) return GREY;
  if (alpha < 2) return RED;
  if (alpha > 6) return ORANGE;
  return GREEN;
}

export function badgeText(alpha: number | null): string {
  if (alpha === null) return "no report";
  const band = alpha < 2 ? " over-trained" : alpha > 6 ? " under-trained" : "";
  return `${alpha.toFixed(2)}${band}`;
}

/** Width of text in the badge font (Verdana 11px averages ~6.5px per character). */
function textWidth(text: string): number {
  return Math.round(text.length * 6.5) + 12;
}

export function renderBadgeSvg(model: string, state: BadgeState): string {
  const value = badgeText(state.alpha);
  const left = textWidth(LABEL);
  const right = textWidth(value);
  const width = left + right;
  const title = escapeXml(`${model}: ${LABEL} ${value}`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${title}">` +
    `<title>${title}</title>` +
    `<rect width="${left}" height="20" fill="#555"/>` +
    `<rect x="${left}" width="${right}" height="20" fill="${badgeColor(state.alpha)}"/>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">` +
    `<text x="${left / 2}" y="14">${LABEL}</text>` +
    `<text x="${left + right / 2}" y="14">${escapeXml(value)}</text>` +
    `</g></svg>`
  );
}
