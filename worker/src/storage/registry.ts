/**
 * Models and their versions (the registry layout in R2), each version pointing at the analysis
 * of its bytes.
 */

export interface VersionRow {
  model: string;
  version: string;
  source_key: string;
  etag: string;
  uploaded_at: string;
  analysis_id: string | null;
}

export async function recordVersion(db: D1Database, row: VersionRow): Promise<void> {
  await db.batch([
    db.prepare("INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)").bind(row.model, new Date().toISOString()),
    db
      .prepare(
        `INSERT INTO versions (model, version, source_key, etag, uploaded_at, analysis_id) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (model, version) DO UPDATE SET source_key = excluded.source_key, etag = excluded.etag,
           uploaded_at = excluded.uploaded_at, analysis_id = excluded.analysis_id`,
      )
      .bind(row.model, row.version, row.source_key, row.etag, row.uploaded_at, row.analysis_id),
  ]);
}

export async function getVersion(db: D1Database, model: string, version: string): Promise<VersionRow | null> {
  return db.prepare("SELECT * FROM versions WHERE model = ? AND version = ?").bind(model, version).first<VersionRow>();
}

export interface HistoryRow {
  version: string;
  source_key: string;
  uploaded_at: string;
  analysis_id: string | null;
  status: string | null;
  summary_json: string | null;
  completed_at: string | null;
}

/** Every version of `model`, oldest upload first, with its analysis state. */
export async function modelHistory(db: D1Database, model: string): Promise<HistoryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT v.version, v.source_key, v.uploaded_at, v.analysis_id, a.status, a.summary_json, a.completed_at
       FROM versions v LEFT JOIN analyses a ON a.id = v.analysis_id
       WHERE v.model = ? ORDER BY v.uploaded_at, v.version`,
    )
    .bind(model)
    .all<HistoryRow>();
  return results;
}

/** The latest version uploaded before `uploadedAt` whose analysis is done. */
export async function previousAnalyzedVersion(
  db: D1Database,
  model: string,
  uploadedAt: string,
  excludeVersion: string,
): Promise<(VersionRow & { report_key: string }) | null> {
  return db
    .prepare(
      `SELECT v.*, a.report_key FROM versions v JOIN analyses a ON a.id = v.analysis_id
       WHERE v.model = ? AND v.version != ? AND v.uploaded_at <= ? AND a.status = 'done'
       ORDER BY v.uploaded_at DESC, v.version DESC LIMIT 1`,
    )
    .bind(model, excludeVersion, uploadedAt)
    .first<VersionRow & { report_key: string }>();
}

export async function modelExists(db: D1Database, model: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS one FROM models WHERE name = ?").bind(model).first()) !== null;
}
