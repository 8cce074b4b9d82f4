/**
 * get_summary() (spec §3.9): means of a few columns over the layer rows.
 */
import type { AnalyzeOptions, LayerRecord, Summary } from "../report.js";
import { DEFAULT_MIN_RELIABLE_EVALS } from "./record.js";

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
export function summarize(
  records: readonly LayerRecord[],
  options: Pick<AnalyzeOptions, "compat"> & Partial<Pick<AnalyzeOptions, "min_reliable_evals">>,
): Summary {
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
  Object.assign(summary, reliableMeans(records, options.min_reliable_evals ?? DEFAULT_MIN_RELIABLE_EVALS));
  const mpSoftrank = mpSoftrankMean(records, compat);
  if (mpSoftrank !== undefined) summary.mp_softrank = mpSoftrank;
  return summary;
}

/**
 * Mean of mp_softrank over the rows that have one (mp_fit). compat: pandas' mean, −1 sentinels of
 * failed MP fits included; otherwise over finite values only.
 */
function mpSoftrankMean(records: readonly LayerRecord[], compat: boolean): number | undefined {
  let sum = 0;
  let count = 0;
  for (const record of records) {
    const value = record.mp_softrank;
    if (value === undefined || value === null || Number.isNaN(value)) continue;
    if (!compat && (!Number.isFinite(value) || value < 0)) continue;
    sum += value;
    count++;
  }
  return count > 0 ? sum / count : undefined;
}

/**
 * The alpha-derived means over the fits worth trusting: status success and not few_evals (at
 * least min_reliable_evals eigenvalues given to the fitter), finite values only. The same in
 * every mode: weightwatcher has no such mean.
 */
export function reliableMeans(records: readonly LayerRecord[], minReliableEvals: number): Partial<Summary> {
  const reliable = records.filter((r) => r.status === "success" && r.few_evals === false);
  const means: Partial<Summary> = { num_reliable_layers: reliable.length, min_reliable_evals: minReliableEvals };
  for (const [column, key] of RELIABLE_COLUMNS) {
    let sum = 0;
    let count = 0;
    for (const record of reliable) {
      const value = record[column];
      if (value === null || !Number.isFinite(value)) continue;
      sum += value;
      count++;
    }
    if (count > 0) means[key] = sum / count;
  }
  return means;
}

const RELIABLE_COLUMNS = [
  ["alpha", "reliable_alpha"],
  ["alpha_weighted", "reliable_alpha_weighted"],
  ["log_alpha_norm", "reliable_log_alpha_norm"],
] as const;
