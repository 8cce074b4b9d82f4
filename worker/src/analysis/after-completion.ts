/**
 * When a model version's analysis is done: compare it with the previous analyzed version of the
 * same model and, on a `fail` verdict, post the webhook.
 */
import { compareReports, type Comparison } from "../../../core/compare/index.js";
import type { Report } from "../../../core/report.js";
import { readSettings, type Env } from "../env.js";
import { postFailWebhook } from "../scan/webhook.js";
import { previousAnalyzedVersion, type VersionRow } from "../storage/registry.js";

export function comparisonKey(model: string, version: string): string {
  return `comparisons/${encodeURIComponent(model)}/${encodeURIComponent(version)}.json`;
}

export interface VersionComparison {
  model: string;
  version: string;
  previousVersion: string;
  comparison: Comparison;
}

/** Compares every version whose analysis is `analysisId` with its predecessor. */
export async function afterVersionAnalyzed(env: Env, analysisId: string, report: Report): Promise<VersionComparison[]> {
  const { results: versions } = await env.DB.prepare("SELECT * FROM versions WHERE analysis_id = ?")
    .bind(analysisId)
    .all<VersionRow>();
  const compared: VersionComparison[] = [];
  for (const version of versions) {
    const previous = await previousAnalyzedVersion(env.DB, version.model, version.uploaded_at, version.version);
    if (previous === null) continue;
    const previousObject = await env.REPORTS.get(previous.report_key);
    if (previousObject === null) continue;
    const comparison = compareReports((await previousObject.json()) as Report, report);
    await env.REPORTS.put(comparisonKey(version.model, version.version), JSON.stringify(comparison), {
      httpMetadata: { contentType: "application/json" },
    });
    const result = { model: version.model, version: version.version, previousVersion: previous.version, comparison };
    compared.push(result);
    const webhookUrl = readSettings(env).webhookUrl;
    if (comparison.verdict === "fail" && webhookUrl !== undefined) await postFailWebhook(webhookUrl, result, analysisId);
  }
  return compared;
}
