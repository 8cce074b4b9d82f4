/**
 * Eigenvalues of each analyzed layer, kept beside the report in R2 (one object per layer row,
 * keyed by the layer's plan key) so the report stays small and a plot reads only its layer.
 */
import type { LayerRecord, Report } from "../../../core/report.js";
import { layerKey } from "../fanout/messages.js";

export function evalsKey(analysisId: string, record: { layer_id: number; slice_id?: number }): string {
  return `evals/${analysisId}/${encodeURIComponent(layerKey(record))}.json`;
}

/** Moves `record.evals` to R2 (the record keeps everything else). */
export async function moveEvalsToR2(reports: R2Bucket, analysisId: string, record: LayerRecord): Promise<void> {
  if (record.evals === undefined) return;
  await reports.put(evalsKey(analysisId, record), JSON.stringify(record.evals), {
    httpMetadata: { contentType: "application/json" },
  });
  delete record.evals;
}

export async function moveReportEvalsToR2(reports: R2Bucket, analysisId: string, report: Report): Promise<void> {
  for (const record of report.layers) await moveEvalsToR2(reports, analysisId, record);
}

/** The record with its eigenvalues put back (unchanged when none were stored). */
export async function withEvals(reports: R2Bucket, analysisId: string, record: LayerRecord): Promise<LayerRecord> {
  const object = await reports.get(evalsKey(analysisId, record));
  if (object === null) return record;
  return { ...record, evals: (await object.json()) as number[] };
}
