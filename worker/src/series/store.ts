/**
 * A series is a list of analyses plus the settings that turn their reports into the series result.
 * It is stored as one JSON object in the reports bucket (`series/<id>.json`); the result itself
 * is computed from the stored reports whenever it is asked for, so it needs no table of its own.
 */
import { parseJson, stringifyJson } from "../../../core/json.js";
import type { LabelFields, SeriesOptions } from "../../../core/series/index.js";

export interface SeriesCheckpointRecord extends LabelFields {
  /** The R2 key: the checkpoint's name in the result and what the labels match. */
  file: string;
  analysis_id: string;
  /** The analysis's content identity (`etag:<R2 ETag>`): equal identities are the same bytes. */
  identity: string;
}

export interface SeriesRecord {
  id: string;
  created_at: string;
  options: SeriesOptions;
  checkpoints: SeriesCheckpointRecord[];
}

export function seriesKey(id: string): string {
  return `series/${id}.json`;
}

export async function storeSeries(reports: R2Bucket, record: SeriesRecord): Promise<void> {
  await reports.put(seriesKey(record.id), stringifyJson(record), { httpMetadata: { contentType: "application/json" } });
}

export async function readSeries(reports: R2Bucket, id: string): Promise<SeriesRecord | null> {
  const object = await reports.get(seriesKey(id));
  return object === null ? null : parseJson<SeriesRecord>(await object.text());
}
