/**
 * Starting an analysis: resolve the options, open the source, reuse the analysis of the same
 * bytes when there is one, else analyze inline (small models) or fan the layers out over the
 * Queue (one message per planned layer).
 */
import { analyze, planLayers, resolveOptions } from "../../../core/analyze.js";
import { describeError } from "../../../core/errors.js";
import type { ByteSource } from "../../../core/formats/byte-source.js";
import { openTensorIndex } from "../../../core/formats/open.js";
import type { AnalyzeOptions, Report } from "../../../core/report.js";
import { readSettings, type Env } from "../env.js";
import { layerKey, type JobMessage } from "../fanout/messages.js";
import { toApiError } from "../http/api-error.js";
import { spectralKernel } from "../kernel.js";
import { openSource, sourceText, type SourceSpec } from "../sources/open-source.js";
import {
  completeAnalysis,
  createAnalysis,
  failAnalysis,
  findByIdentity,
  getAnalysis,
  optionsHash,
  readReport,
  type AnalysisRow,
} from "../storage/analyses.js";
import { moveReportEvalsToR2 } from "../storage/evals.js";
import { getVersion, recordVersion } from "../storage/registry.js";
import { afterVersionAnalyzed } from "./after-completion.js";
import { budgetedLayerRunner, clock } from "./layer-runner.js";

export interface AnalysisRequest {
  source: SourceSpec;
  options: Partial<AnalyzeOptions>;
  /** Registry coordinates, when the source is a version of a named model. */
  model?: string | undefined;
  version?: string | undefined;
}

export interface StartedAnalysis {
  row: AnalysisRow;
  /** True when the same bytes with the same options had been analyzed (or were being) already. */
  deduplicated: boolean;
  report: Report | null;
}

/** Queue sendBatch takes at most 100 messages. */
const SEND_BATCH = 100;

export async function startAnalysis(env: Env, request: AnalysisRequest): Promise<StartedAnalysis> {
  const settings = readSettings(env);
  const options = resolveOptions(request.options);
  const { source, uploaded } = await openSource(env, settings, request.source);
  const identity = source.etag === undefined ? null : `etag:${source.etag}`;
  const registry = async (row: AnalysisRow): Promise<boolean> => registerVersion(env, request, source, uploaded, row.id);

  if (identity !== null) {
    const existing = await findByIdentity(env.DB, identity, await optionsHash(options));
    if (existing !== null) return reuse(env, request, existing, await registry(existing));
  }
  const size = await source.size();
  const fields = { source: sourceText(request.source), identity, options, model: request.model, version: request.version };

  if (size <= settings.inlineMaxBytes) {
    const { row, created } = await createAnalysis(env.DB, { ...fields, layersTotal: 0 });
    const isNewVersion = await registry(row);
    if (!created) return reuse(env, request, row, isNewVersion);
    const kernel = await spectralKernel();
    const report = await completeOrFail(env, row.id, async () => {
      const analyzed = await analyze(source, options, {
        kernel,
        runLayer: budgetedLayerRunner(kernel, settings.memoryBudgetBytes),
        now: clock,
      });
      await moveReportEvalsToR2(env.REPORTS, row.id, analyzed);
      return analyzed;
    });
    await afterVersionAnalyzed(env, row.id, report);
    return { row: (await getAnalysis(env.DB, row.id))!, deduplicated: false, report };
  }

  // Fan-out: the plan decides the messages; each consumer re-plans from the same bytes.
  const plan = planLayers(await openTensorIndex(source), options);
  const { row, created } = await createAnalysis(env.DB, { ...fields, layersTotal: plan.layers.length });
  const isNewVersion = await registry(row);
  if (!created) return reuse(env, request, row, isNewVersion);
  if (plan.layers.length === 0) {
    // Nothing to fan out: the report (every tensor skipped with its reason) is assembled now.
    const kernel = await spectralKernel();
    const report = await completeOrFail(env, row.id, () => analyze(source, options, { kernel, hashSource: false, now: clock }));
    await afterVersionAnalyzed(env, row.id, report);
    return { row: (await getAnalysis(env.DB, row.id))!, deduplicated: false, report };
  }
  const messages: Array<MessageSendRequest<JobMessage>> = plan.layers.map((layer) => ({
    body: { kind: "layer", analysisId: row.id, layerKey: layerKey(layer) },
    contentType: "json",
  }));
  try {
    for (let first = 0; first < messages.length; first += SEND_BATCH) {
      await env.JOBS.sendBatch(messages.slice(first, first + SEND_BATCH));
    }
  } catch (error) {
    await failAnalysis(env.DB, row.id, "queue_unavailable", `the layers could not be queued: ${describeError(error)}`);
    throw error;
  }
  return { row, deduplicated: false, report: null };
}

/** Runs `work`, stores its report and marks the analysis done; on error marks it failed. */
export async function completeOrFail(env: Env, id: string, work: () => Promise<Report>): Promise<Report> {
  let report: Report;
  try {
    report = await work();
    await completeAnalysis(env.DB, env.REPORTS, id, report);
  } catch (error) {
    const apiError = toApiError(error);
    await failAnalysis(env.DB, id, apiError.code, apiError.message);
    throw error;
  }
  return report;
}

async function reuse(env: Env, request: AnalysisRequest, row: AnalysisRow, isNewVersion: boolean): Promise<StartedAnalysis> {
  const report = row.status === "done" ? await readReport(env.REPORTS, row) : null;
  // A new version whose bytes were analyzed before is still compared with its predecessor.
  if (report !== null && isNewVersion && request.model !== undefined) await afterVersionAnalyzed(env, row.id, report);
  return { row, deduplicated: true, report };
}

/** Records the registry version of this request; true when it is new or now points elsewhere. */
async function registerVersion(
  env: Env,
  request: AnalysisRequest,
  source: ByteSource,
  uploaded: Date | undefined,
  analysisId: string,
): Promise<boolean> {
  if (request.model === undefined || request.version === undefined) return false;
  const before = await getVersion(env.DB, request.model, request.version);
  await recordVersion(env.DB, {
    model: request.model,
    version: request.version,
    source_key: sourceText(request.source),
    etag: source.etag ?? "",
    uploaded_at: (uploaded ?? new Date()).toISOString(),
    analysis_id: analysisId,
  });
  return before === null || before.analysis_id !== analysisId;
}
