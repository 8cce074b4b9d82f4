/** How the CLI prints numbers: compact, fixed width for tables, full precision for CSV. */

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return "-";
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) return value.toExponential(digits - 1);
  return value.toFixed(digits);
}
