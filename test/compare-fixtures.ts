/** Hand-built reports for the compare and render tests: only the fields a test sets matter. */
import { DEFAULT_OPTIONS, SCHEMA_VERSION, type LayerRecord, type Report } from "../core/report.js";

export function layer(fields: Partial<LayerRecord> & { name: string; alpha: number | null }): LayerRecord {
  const alpha = fields.alpha;
  const num_pl_spikes = fields.num_pl_spikes ?? 100;
  return {
    layer_id: 1,
    longname: fields.name,
    layer_type: "dense",
    type_rule: "rank",
    N: 784,
    M: 300,
    Q: 784 / 300,
    rf: 1,
    num_evals: 300,
    has_esd: true,
    lambda_max: 10,
    sv_max: Math.sqrt(10),
    sv_min: 0.1,
    rank_loss: 0,
    weak_rank_loss: 0,
    matrix_rank: 300,
    entropy: 0.9,
    norm: 20,
    log_norm: 2,
    spectral_norm: 10,
    log_spectral_norm: 1,
    stable_rank: 20,
    alpha_weighted: alpha === null ? null : alpha,
    log_alpha_norm: alpha === null ? null : 1,
    D: alpha === null ? null : 0.05,
    sigma: alpha === null ? null : (alpha - 1) / Math.sqrt(num_pl_spikes),
    xmin: alpha === null ? null : 0.5,
    xmax: alpha === null ? null : 10,
    num_pl_spikes: alpha === null ? null : num_pl_spikes,
    status: alpha === null ? "failed" : "success",
    warning: alpha === null ? "fit-failed" : alpha < 2 ? "over-trained" : alpha > 6 ? "under-trained" : "",
    ...fields,
  };
}

export function report(path: string, layers: LayerRecord[], skipped: Report["skipped"] = []): Report {
  const numbered = layers.map((l, i) => ({ ...l, layer_id: l.layer_id === 1 ? i + 1 : l.layer_id }));
  const fitted = numbered.filter((l) => l.alpha !== null);
  const mean = (values: number[]) => (values.length === 0 ? undefined : values.reduce((s, v) => s + v, 0) / values.length);
  const alpha = mean(fitted.map((l) => l.alpha!));
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "alphawatch", version: "0.1.0" },
    options: { ...DEFAULT_OPTIONS, layers: [] },
    source: { path, format: "safetensors", size: 1000, metadata: {} },
    layers: numbered,
    skipped,
    summary: { ...(alpha === undefined ? {} : { alpha }), num_layers: numbered.length, num_failed_fits: numbered.length - fitted.length },
    timings: { total_ms: 1, read_ms: 0.5, eigen_ms: 0.5 },
  };
}
