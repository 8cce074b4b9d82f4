/**
 * The webhook of a `fail` verdict: a JSON body with the facts, and a Slack-compatible `text`.
 * A failing receiver is logged; it never fails the analysis.
 */
import { describeError } from "../../../core/errors.js";
import type { VersionComparison } from "../analysis/after-completion.js";

export interface FailWebhookBody {
  /** One line for chat receivers (Slack incoming webhooks read `text`). */
  text: string;
  event: "alphawatch.regression";
  model: string;
  version: string;
  previous_version: string;
  analysis_id: string;
  verdict: "fail";
  reasons: string[];
  mean_alpha_base: number | null;
  mean_alpha_head: number | null;
}

export function failWebhookBody(result: VersionComparison, analysisId: string): FailWebhookBody {
  const { comparison } = result;
  const reasons = comparison.reasons;
  return {
    text:
      `alphawatch: ${result.model} ${result.version} fails against ${result.previousVersion}` +
      (reasons.length > 0 ? `: ${reasons.join("; ")}` : ""),
    event: "alphawatch.regression",
    model: result.model,
    version: result.version,
    previous_version: result.previousVersion,
    analysis_id: analysisId,
    verdict: "fail",
    reasons,
    mean_alpha_base: comparison.summary.mean_alpha_base,
    mean_alpha_head: comparison.summary.mean_alpha_head,
  };
}

export async function postFailWebhook(url: string, result: VersionComparison, analysisId: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(failWebhookBody(result, analysisId)),
    });
    if (!response.ok) console.error(`webhook ${url}: HTTP ${response.status}`);
    return response.ok;
  } catch (error) {
    console.error(`webhook ${url}: ${describeError(error)}`);
    return false;
  }
}
