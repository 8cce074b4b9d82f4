/**
 * The analysis index in D1 and the report objects in R2. An analysis is keyed by the content
 * identity of its source plus a hash of its resolved options, so the same bytes analyzed the same
 * way are found again instead of recomputed.
 */
import type { LayerOutcome } from "../../../core/analyze.js";
import type { AnalyzeOptions, Report, Summary } from "../../../core/report.js";
import { sha256Hex } from "../http/auth.js";
import { parseJson, stringifyJson } from "../../../core/json.js";

export type AnalysisStatus = "running" | "completing" | "done" | "failed";

export interface AnalysisRow {
  id: string;
  source: string;
  identity: string | null;
  options_hash: string;
  options_json: string;
  status: AnalysisStatus;
  layers_total: number;
  model: string | null;
  version: string | null;
  report_key: string | null;
  summary_json: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface NewAnalysis {
  source: string;
  identity: string | null;
  options: AnalyzeOptions;
  layersTotal: number;
  model?: string | undefined;
  version?: string | undefined;
}

/** Options hashed in a fixed key order, so equal options always give the same hash. */
export async function optionsHash(options: AnalyzeOptions): Promise<string> {
  const keys = Object.keys(options).sort() as Array<keyof AnalyzeOptions>;
  return sha256Hex(JSON.stringify(keys.map((key) => [key, options[key]])));
}

export function reportKey(id: string): string {
  return `reports/${id}.json`;
}

function nowIso(): string {
  return new Date().toISOString();
}

export async function getAnalysis(db: D1Database, id: string): Promise<AnalysisRow | null> {
  return db.prepare("SELECT * FROM analyses WHERE id = ?").bind(id).first<AnalysisRow>();
}

/** The live (not failed) analysis of these bytes with these options, if any. */
export async function findByIdentity(db: D1Database, identity: string, hash: string): Promise<AnalysisRow | null> {
  return db
    .prepare("SELECT * FROM analyses WHERE identity = ? AND options_hash = ? AND status != 'failed'")
    .bind(identity, hash)
    .first<AnalysisRow>();
}

/**
 * Inserts a running analysis. When a concurrent request already holds the same identity and
 * options, nothing is inserted and that analysis is returned with `created: false`.
 */
export async function createAnalysis(
  db: D1Database,
  fields: NewAnalysis,
): Promise<{ row: AnalysisRow; created: boolean }> {
  const hash = await optionsHash(fields.options);
  const id = crypto.randomUUID();
  const inserted = await db
    .prepare(
      `INSERT OR IGNORE INTO analyses
         (id, source, identity, options_hash, options_json, status, layers_total, model, version, created_at)
       VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)`,
    )
    .bind(id, fields.source, fields.identity, hash, JSON.stringify(fields.options), fields.layersTotal,
      fields.model ?? null, fields.version ?? null, nowIso())
    .run();
  if (inserted.meta.changes === 1) return { row: (await getAnalysis(db, id))!, created: true };
  const existing = fields.identity === null ? null : await findByIdentity(db, fields.identity, hash);
  if (existing === null) throw new Error(`analysis ${id} could not be recorded`);
  return { row: existing, created: false };
}

export async function setLayersTotal(db: D1Database, id: string, total: number): Promise<void> {
  await db.prepare("UPDATE analyses SET layers_total = ? WHERE id = ?").bind(total, id).run();
}

/** Stores the report in R2 and marks the analysis done, with its per-layer metrics indexed. */
export async function completeAnalysis(db: D1Database, reports: R2Bucket, id: string, report: Report): Promise<void> {
  const key = reportKey(id);
  await reports.put(key, stringifyJson(report), { httpMetadata: { contentType: "application/json" } });
  const metricRows = report.layers.map((layer, rowIndex) =>
    db
      .prepare(
        `INSERT OR REPLACE INTO layer_metrics
           (analysis_id, row_index, layer_id, name, layer_type, N, M, alpha, alpha_weighted, log_norm,
            log_spectral_norm, stable_rank, status, warning)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(id, rowIndex, layer.layer_id, layer.name, layer.layer_type, layer.N, layer.M, finite(layer.alpha),
        finite(layer.alpha_weighted), finite(layer.log_norm), finite(layer.log_spectral_norm),
        finite(layer.stable_rank), layer.status, layer.warning),
  );
  await db.batch([
    ...metricRows,
    db
      .prepare(
        `UPDATE analyses SET status = 'done', report_key = ?, summary_json = ?, completed_at = ?,
           error_code = NULL, error_message = NULL WHERE id = ?`,
      )
      .bind(key, stringifyJson(report.summary), nowIso(), id),
  ]);
}

export async function failAnalysis(db: D1Database, id: string, code: string, message: string): Promise<void> {
  await db
    .prepare("UPDATE analyses SET status = 'failed', error_code = ?, error_message = ?, completed_at = ? WHERE id = ?")
    .bind(code, message, nowIso(), id)
    .run();
}

export async function readReport(reports: R2Bucket, row: AnalysisRow): Promise<Report | null> {
  if (row.report_key === null) return null;
  const object = await reports.get(row.report_key);
  return object === null ? null : parseJson<Report>(await object.text());
}

export function summaryOf(row: AnalysisRow): Summary | null {
  return row.summary_json === null ? null : parseJson<Summary>(row.summary_json);
}

function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}

// ---- fan-out results ---------------------------------------------------------------------------

/** Records one layer's outcome; a redelivered message for the same layer changes nothing. */
export async function recordLayerOutcome(db: D1Database, id: string, layerKey: string, outcome: LayerOutcome): Promise<void> {
  await db
    .prepare("INSERT OR IGNORE INTO layer_results (analysis_id, layer_key, outcome_json) VALUES (?, ?, ?)")
    .bind(id, layerKey, stringifyJson(outcome))
    .run();
}

/**
 * Moves a running analysis whose every layer has a result to `completing`, for exactly one
 * caller: the conditional UPDATE is atomic, so of two consumers finishing the last layers at the
 * same time only one gets `true` and assembles the report.
 */
export async function claimCompletion(db: D1Database, id: string): Promise<boolean> {
  const claimed = await db
    .prepare(
      `UPDATE analyses SET status = 'completing'
       WHERE id = ? AND status = 'running'
         AND (SELECT COUNT(*) FROM layer_results WHERE analysis_id = ?) >= layers_total
       RETURNING id`,
    )
    .bind(id, id)
    .first<{ id: string }>();
  return claimed !== null;
}

export async function layerOutcomes(db: D1Database, id: string): Promise<Map<string, LayerOutcome>> {
  const { results } = await db
    .prepare("SELECT layer_key, outcome_json FROM layer_results WHERE analysis_id = ?")
    .bind(id)
    .all<{ layer_key: string; outcome_json: string }>();
  return new Map(results.map((row) => [row.layer_key, parseJson<LayerOutcome>(row.outcome_json)]));
}

export async function countLayerResults(db: D1Database, id: string): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS n FROM layer_results WHERE analysis_id = ?")
    .bind(id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
