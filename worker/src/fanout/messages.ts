/** Messages on the JOBS queue. */

/** Analyze one planned layer (or conv2d slice) of a fanned-out analysis. */
export interface LayerJob {
  kind: "layer";
  analysisId: string;
  /** layerKey() of the planned layer. */
  layerKey: string;
}

/** Analyze a registry version the cron scan found without a report. */
export interface ScanVersionJob {
  kind: "scan-version";
  key: string;
  model: string;
  version: string;
}

export type JobMessage = LayerJob | ScanVersionJob;

/** Identifies a planned layer across isolates: the plan is a pure function of bytes and options. */
export function layerKey(layer: { layer_id: number; slice_id?: number }): string {
  return `${layer.layer_id}#${layer.slice_id ?? ""}`;
}

/** Queue deliveries of one message: the first try plus wrangler.toml's `max_retries` (3). */
export const MAX_DELIVERIES = 4;
