/**
 * get_summary() (spec §3.9): means of a few columns over the layer rows.
 */
import type { AnalyzeOptions, LayerRecord, Summary } from "../report.js";

/** Columns weightwatcher averages, in its order. */
export const SUMMARY_COLUMNS = [
  "log_norm",
  "alpha",
  "alpha_weighted",
  "log_alpha_norm",
  "log_spectral_norm",
  "stable_rank",
] as const;

type SummaryColumn = (typeof SUMMARY_COLUMNS)[number];

const ALPHA_DERIVED: ReadonlySet<SummaryColumn> = new Set(["alpha", "alpha_weighted", "log_alpha_norm"]);

/**
 * compat "ww"/"ww-file": pandas' mean over every row, NaN (null) skipped, −1 sentinels and ±∞ included,
 * as weightwatcher 0.7.5.5 reports it (§15.1). Otherwise: alpha-derived means over successful
 * fits only, and every mean over finite values only. A column with no value to average is left
 * out (weightwatcher's empty table gives `{}`).
 */
export function summarize(records: readonly LayerRecord[], options: Pick<AnalyzeOptions, "compat">): Summary {
  const compat = options.compat !== "default";
  const summary: Summary = {
    num_layers: records.length,
    num_failed_fits: records.filter((r) => r.status === "failed").length,
  };
  for (const column of SUMMARY_COLUMNS) {
    let sum = 0;
    let count = 0;
    for (const record of records) {
      if (!compat && ALPHA_DERIVED.has(column) && record.status !== "success") continue;
      const value = record[column];
      if (value === null || Number.isNaN(value)) continue;
      if (!compat && !Number.isFinite(value)) continue;
      sum += value;
      count++;
    }
    if (count > 0) summary[column] = sum / count;
  }
  return summary;
}
