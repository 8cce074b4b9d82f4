/** Number and text formatting shared by the renderers: fixed, locale-free, deterministic. */

/** A metric value for a table: `digits` decimals (0 for counts), exponent form for very large or very small values. */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return "–";
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || (magnitude > 0 && magnitude < 10 ** -digits)) return value.toExponential(2);
  const text = value.toFixed(digits);
  return /^-0\.0*$/.test(text) ? text.slice(1) : text;
}

/** A change: explicit sign, "0" for no change at all. */
export function formatDelta(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "0";
  const text = formatNumber(value, digits);
  return value > 0 && !text.startsWith("+") ? `+${text}` : text;
}

/** Text for HTML and SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Text inside a GitHub Markdown table cell: no pipes, no line breaks, no raw HTML. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\r?\n/g, " ").replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** "1 layer", "3 layers". */
export function plural(count: number, word: string): string {
  return `${count} ${count === 1 ? word : `${word}s`}`;
}

/** File size for a human: bytes, KiB, MiB, GiB. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
