/** Colors for groups and layers in the series plots: distinct, print-safe, stable by position. */
export const SERIES_COLORS = ["#2b6cb0", "#dd6b20", "#2f855a", "#9b2c2c", "#6b46c1", "#b7791f", "#319795", "#d53f8c", "#4a5568", "#718096"] as const;

export function seriesColor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length]!;
}

/** A checkpoint's short label: its base name without the extension. */
export function shortLabel(file: string): string {
  const base = file.replaceAll("\\", "/").split("/").pop() ?? file;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}
