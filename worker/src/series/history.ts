/**
 * The series view of a model's history: its analyzed versions, oldest upload first, through core's
 * analyzeSeries(), as `alphawatch series` would give them (no labels: the ranking by the default
 * metric and the notes), so a team sees how its model's layers move from version to version.
 */
import type { Report } from "../../../core/report.js";
import { analyzeSeries, type SeriesInput, type SeriesResult } from "../../../core/series/index.js";
import { ApiError } from "../http/api-error.js";
import { getAnalysis, readReport, type AnalysisRow } from "../storage/analyses.js";
import type { HistoryRow } from "../storage/registry.js";
import { MAX_SERIES_CHECKPOINTS } from "./request.js";

/**
 * The series of `model`'s analyzed versions (status done), in the order of `rows` (upload order);
 * null when no version is analyzed yet. Above MAX_SERIES_CHECKPOINTS analyzed versions the series
 * holds the latest ones, for the reason POST /v1/series has that limit, and a note says so.
 */
export async function historySeries(reports: R2Bucket, db: D1Database, model: string, rows: readonly HistoryRow[]): Promise<SeriesResult | null> {
  const analyzed = rows.filter((row) => row.status === "done" && row.analysis_id !== null);
  if (analyzed.length === 0) return null;
  const kept = analyzed.slice(-MAX_SERIES_CHECKPOINTS);

  const analyses = new Map<string, { row: AnalysisRow; report: Report }>();
  for (const id of new Set(kept.map((version) => version.analysis_id!))) {
    const row = await getAnalysis(db, id);
    const report = row === null ? null : await readReport(reports, row);
    if (row === null || report === null) {
      throw new ApiError(500, "internal_error", `model ${model}: the report of analysis ${id} is missing`);
    }
    analyses.set(id, { row, report });
  }
  const inputs: SeriesInput[] = kept.map((version) => {
    const { row, report } = analyses.get(version.analysis_id!)!;
    // A version is named by its version label (unique within the model); its content by the
    // analysis's identity (the R2 ETag), never written as a hash.
    const input: SeriesInput = { file: version.version, report };
    if (row.identity !== null) input.content_id = row.identity;
    return input;
  });
  const result = analyzeSeries(inputs);

  const notes: string[] = [];
  if (kept.length < analyzed.length) {
    notes.push(`the series holds the latest ${kept.length} of the ${analyzed.length} analyzed versions (oldest left out: ${analyzed[0]!.version})`);
  }
  const optionSets = new Set([...analyses.values()].map(({ row }) => row.options_hash));
  if (optionSets.size > 1) {
    notes.push(`the versions were analyzed with ${optionSets.size} different sets of options: their metrics are not strictly comparable`);
  }
  result.notes.unshift(...notes);
  return result;
}
