-- alphawatch index: models and their versions, analyses (keyed by content identity + options),
-- per-layer results of fanned-out analyses, per-layer metrics for history and trend queries.

CREATE TABLE models (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);

CREATE TABLE versions (
  model TEXT NOT NULL REFERENCES models(name),
  version TEXT NOT NULL,
  source_key TEXT NOT NULL,
  etag TEXT NOT NULL,
  -- when the object was uploaded to R2: the order of versions ("previous version")
  uploaded_at TEXT NOT NULL,
  analysis_id TEXT,
  PRIMARY KEY (model, version)
);

CREATE TABLE analyses (
  id TEXT PRIMARY KEY,
  -- "r2:<key>" or the URL
  source TEXT NOT NULL,
  -- content identity of the source ("etag:<etag>"); NULL when the host gives none (no dedup)
  identity TEXT,
  options_hash TEXT NOT NULL,
  options_json TEXT NOT NULL,
  -- running | completing | done | failed
  status TEXT NOT NULL,
  layers_total INTEGER NOT NULL DEFAULT 0,
  model TEXT,
  version TEXT,
  report_key TEXT,
  summary_json TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at TEXT NOT NULL,
  completed_at TEXT
);

-- The same bytes with the same options are analyzed once (a failed analysis may be retried).
CREATE UNIQUE INDEX analyses_identity ON analyses(identity, options_hash)
  WHERE identity IS NOT NULL AND status != 'failed';
CREATE INDEX analyses_model ON analyses(model, created_at);

-- One row per planned layer (or conv2d slice) of a fanned-out analysis, written by the Queue
-- consumer; a redelivered message finds its row and adds nothing.
CREATE TABLE layer_results (
  analysis_id TEXT NOT NULL REFERENCES analyses(id),
  -- "<layer_id>#<slice_id>" of the planned layer
  layer_key TEXT NOT NULL,
  -- JSON LayerOutcome of core/analyze.ts: a record, or a skip with its reason
  outcome_json TEXT NOT NULL,
  PRIMARY KEY (analysis_id, layer_key)
);

CREATE TABLE layer_metrics (
  analysis_id TEXT NOT NULL REFERENCES analyses(id),
  row_index INTEGER NOT NULL,
  layer_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  layer_type TEXT NOT NULL,
  N INTEGER NOT NULL,
  M INTEGER NOT NULL,
  alpha REAL,
  alpha_weighted REAL,
  log_norm REAL,
  log_spectral_norm REAL,
  stable_rank REAL,
  status TEXT NOT NULL,
  warning TEXT NOT NULL,
  PRIMARY KEY (analysis_id, row_index)
);
