/**
 * Running a series: every checkpoint goes through the same path as POST /v1/analyses (an analysis
 * of the same bytes with the same options is reused, small models are analyzed in the request,
 * large ones fanned out over the Queue), then core's analyzeSeries() turns the reports into the
 * series result, exactly as `alphawatch series` does.
 */
import { resolveOptions } from "../../../core/analyze.js";
import type { AnalyzeOptions, Report } from "../../../core/report.js";
import {
  analyzeSeries,
  labelFields,
  labelTableFromRows,
  parseLabelTable,
  resolveLabelling,
  type Labelling,
  type SeriesInput,
  type SeriesMetric,
  type SeriesOptions,
  type SeriesResult,
} from "../../../core/series/index.js";
import { startAnalysis } from "../analysis/start.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { getAnalysis, readReport, type AnalysisRow } from "../storage/analyses.js";
import { requireObjects, seriesKeys } from "./checkpoints.js";
import type { SeriesRequest } from "./request.js";
import { storeSeries, type SeriesCheckpointRecord, type SeriesRecord } from "./store.js";

export interface SeriesProgress {
  id: string;
  status: "running";
  progress: { analyses_done: number; analyses_total: number };
  checkpoints: Array<{ file: string; analysis_id: string; status: AnalysisRow["status"] }>;
}

export type SeriesState = { kind: "done"; id: string; result: SeriesResult } | { kind: "running"; progress: SeriesProgress };

/** Checks the request, analyzes (or finds the analyses of) every checkpoint and stores the series. */
export async function startSeries(env: Env, request: SeriesRequest): Promise<SeriesState> {
  // Everything the client can get wrong is checked before the first analysis: labels and their
  // columns, the keys, that every object exists.
  const labelling = requestLabelling(request);
  const keys = await seriesKeys(env, request.sources);
  const labels = keys.map((key) => (labelling === undefined ? {} : labelFields(key, labelling)));
  await requireObjects(env.MODELS, keys);

  const options: SeriesOptions = {};
  if (request.min_fit_evals !== undefined) options.min_fit_evals = request.min_fit_evals;
  if (request.metric !== undefined) options.ranking_metric = request.metric as SeriesMetric;
  if (labelling !== undefined) options.target = labelling.target;
  if (request.group !== undefined) options.group_column = request.group;
  const analysisOptions = withoutUndefined(request.options ?? {}) as Partial<AnalyzeOptions>;
  // Bad option values are refused here, before the first analysis rather than at it.
  resolveOptions(analysisOptions);

  const checkpoints: SeriesCheckpointRecord[] = [];
  const reports = new Map<string, Report>();
  const rows: AnalysisRow[] = [];
  // One after the other: the isolate has one kernel, and a copy of an earlier key (same ETag)
  // then finds that key's analysis instead of starting its own.
  for (const [i, key] of keys.entries()) {
    const started = await startAnalysis(env, { source: { kind: "r2", key }, options: analysisOptions });
    if (started.row.identity === null) throw new Error(`analysis ${started.row.id} of r2://${key} has no content identity`);
    checkpoints.push({ file: key, analysis_id: started.row.id, identity: started.row.identity, ...labels[i]! });
    if (started.report !== null) reports.set(started.row.id, started.report);
    rows.push(started.row);
  }
  const record: SeriesRecord = { id: crypto.randomUUID(), created_at: new Date().toISOString(), options, checkpoints };
  await storeSeries(env.REPORTS, record);
  if (rows.every((row) => row.status === "done")) {
    return { kind: "done", id: record.id, result: seriesResult(record, reports) };
  }
  return { kind: "running", progress: progressOf(record, rows) };
}

/** The name label messages use for the request's labels. */
const LABELS_NAME = "labels";

/** The request's labels (a CSV/TSV text or rows) read as `alphawatch series --labels` reads its file. */
function requestLabelling(request: SeriesRequest): Labelling | undefined {
  const labels = request.labels;
  const table = labels === undefined ? undefined : "text" in labels ? parseLabelTable(labels.text, LABELS_NAME) : labelTableFromRows(labels.rows, LABELS_NAME);
  return resolveLabelling(table, request);
}

/** The stored series now: its result when every analysis is done, else its progress. */
export async function seriesState(env: Env, record: SeriesRecord): Promise<SeriesState> {
  const ids = [...new Set(record.checkpoints.map((c) => c.analysis_id))];
  const byId = new Map<string, AnalysisRow>();
  for (const id of ids) {
    const row = await getAnalysis(env.DB, id);
    if (row === null) throw new ApiError(500, "internal_error", `series ${record.id}: analysis ${id} is missing from the index`);
    byId.set(id, row);
  }
  for (const c of record.checkpoints) {
    const row = byId.get(c.analysis_id)!;
    if (row.status === "failed") {
      throw new ApiError(
        422,
        "checkpoint_failed",
        `series ${record.id}: r2://${c.file}: analysis ${row.id} failed (${row.error_code ?? "error"}: ${row.error_message ?? "no message"})`,
      );
    }
  }
  const rows = record.checkpoints.map((c) => byId.get(c.analysis_id)!);
  if (!rows.every((row) => row.status === "done")) return { kind: "running", progress: progressOf(record, rows) };
  const reports = new Map<string, Report>();
  for (const row of byId.values()) {
    const report = await readReport(env.REPORTS, row);
    if (report === null) throw new ApiError(500, "internal_error", `series ${record.id}: the report of analysis ${row.id} is missing`);
    reports.set(row.id, report);
  }
  return { kind: "done", id: record.id, result: seriesResult(record, reports) };
}

function seriesResult(record: SeriesRecord, reports: ReadonlyMap<string, Report>): SeriesResult {
  const inputs: SeriesInput[] = record.checkpoints.map((c) => {
    // The Worker knows a checkpoint's content by its R2 ETag (it never reads whole files to hash
    // them), so the result has no sha256: equal identities are the same bytes, counted once in
    // the pooled figures.
    const input: SeriesInput = { file: c.file, report: reports.get(c.analysis_id)!, content_id: c.identity };
    if (c.target !== undefined) input.target = c.target;
    if (c.test_size !== undefined) input.test_size = c.test_size;
    if (c.group !== undefined) input.group = c.group;
    return input;
  });
  return analyzeSeries(inputs, record.options);
}

function progressOf(record: SeriesRecord, rows: readonly AnalysisRow[]): SeriesProgress {
  const checkpoints = record.checkpoints.map((c, i) => ({ file: c.file, analysis_id: c.analysis_id, status: rows[i]!.status }));
  return {
    id: record.id,
    status: "running",
    progress: { analyses_done: checkpoints.filter((c) => c.status === "done").length, analyses_total: checkpoints.length },
    checkpoints,
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
