/**
 * The JOBS queue consumer. A layer message analyzes one planned layer under the memory budget and
 * records its outcome; whoever records the last outcome assembles the report (core's analyze()
 * over the recorded outcomes, so the report is built exactly as an inline one). A layer that keeps
 * failing (an error, or the CPU limit ending the invocation) is retried by the Queue and then
 * recorded as skipped with the reason; the rest of the report completes.
 */
import { analyze, planLayers, resolveOptions, type LayerOutcome } from "../../../core/analyze.js";
import { describeError } from "../../../core/errors.js";
import { openTensorIndex } from "../../../core/formats/open.js";
import type { PlannedLayer } from "../../../core/layers/plan.js";
import type { AnalyzeOptions } from "../../../core/report.js";
import { afterVersionAnalyzed } from "../analysis/after-completion.js";
import { runLayerWithinBudget, clock } from "../analysis/layer-runner.js";
import { completeOrFail, startAnalysis } from "../analysis/start.js";
import { readSettings, type Env } from "../env.js";
import { moveEvalsToR2 } from "../storage/evals.js";
import { spectralKernel } from "../kernel.js";
import { openSource, parseSourceText } from "../sources/open-source.js";
import {
  claimCompletion,
  getAnalysis,
  layerOutcomes,
  recordLayerOutcome,
  type AnalysisRow,
} from "../storage/analyses.js";
import { layerKey, MAX_DELIVERIES, type JobMessage, type LayerJob } from "./messages.js";

const NO_TIMINGS = { read_ms: 0, eigen_ms: 0 };

export async function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  // One at a time: the isolate's kernel and memory budget are shared by the batch.
  for (const message of batch.messages) {
    try {
      if (message.body.kind === "layer") await handleLayer(env, message.body, message.attempts);
      else await startAnalysis(env, { source: { kind: "r2", key: message.body.key }, options: {}, model: message.body.model, version: message.body.version });
      message.ack();
    } catch (error) {
      if (message.body.kind === "layer" && message.attempts >= MAX_DELIVERIES - 1) {
        // The last delivery that may try: record the failure so the report can complete.
        try {
          await recordFailure(env, message.body, `failed after ${message.attempts} attempts: ${describeError(error)}`);
        } catch (completionError) {
          // Assembling the report failed too: the analysis is marked failed with that reason.
          console.error(`analysis ${message.body.analysisId}: ${describeError(completionError)}`);
        }
        message.ack();
      } else {
        console.error(`job ${JSON.stringify(message.body)} attempt ${message.attempts}: ${describeError(error)}`);
        message.retry();
      }
    }
  }
}

async function handleLayer(env: Env, job: LayerJob, attempts: number): Promise<void> {
  const row = await getAnalysis(env.DB, job.analysisId);
  if (row === null || row.status !== "running") return; // finished, failed, or unknown: nothing to do
  if (attempts >= MAX_DELIVERIES) {
    // Earlier deliveries ended without recording anything: the CPU limit or a crashed isolate.
    await recordFailure(env, job, `failed after ${attempts - 1} attempts that did not finish (CPU time limit or isolate crash)`);
    return;
  }
  const settings = readSettings(env);
  const options = JSON.parse(row.options_json) as AnalyzeOptions;
  const { source } = await openSource(env, settings, parseSourceText(row.source));
  const plan = planLayers(await openTensorIndex(source), resolveOptions(options));
  const layer = plan.layers.find((candidate) => layerKey(candidate) === job.layerKey);
  const outcome: LayerOutcome =
    layer === undefined
      ? { kind: "skipped", skipped: { name: job.layerKey, reason: "the layer is not in the plan of the source any more" }, timings: NO_TIMINGS }
      : await runLayerWithinBudget(await spectralKernel(), layer, options, settings.memoryBudgetBytes);
  if (outcome.kind === "record") await moveEvalsToR2(env.REPORTS, row.id, outcome.record);
  await recordLayerOutcome(env.DB, row.id, job.layerKey, outcome);
  await completeIfLast(env, row);
}

async function recordFailure(env: Env, job: LayerJob, reason: string): Promise<void> {
  const row = await getAnalysis(env.DB, job.analysisId);
  if (row === null || row.status !== "running") return;
  await recordLayerOutcome(env.DB, row.id, job.layerKey, {
    kind: "skipped",
    skipped: { name: job.layerKey, reason },
    timings: NO_TIMINGS,
  });
  await completeIfLast(env, row);
}

/** Assembles and stores the report when every layer has its outcome (one caller wins). */
async function completeIfLast(env: Env, row: AnalysisRow): Promise<void> {
  if (!(await claimCompletion(env.DB, row.id))) return;
  const settings = readSettings(env);
  const outcomes = await layerOutcomes(env.DB, row.id);
  const report = await completeOrFail(env, row.id, async () => {
    const { source } = await openSource(env, settings, parseSourceText(row.source));
    const recorded = async (layer: PlannedLayer): Promise<LayerOutcome> => {
      const outcome = outcomes.get(layerKey(layer));
      if (outcome === undefined) {
        return { kind: "skipped", skipped: { name: layer.tensor.name, reason: "no result was recorded for this layer" }, timings: NO_TIMINGS };
      }
      // Failures are recorded without re-planning, under the layer key: name them by their tensor.
      if (outcome.kind === "skipped" && outcome.skipped.name === layerKey(layer)) outcome.skipped.name = layer.tensor.name;
      return outcome;
    };
    return analyze(source, JSON.parse(row.options_json) as AnalyzeOptions, {
      kernel: await spectralKernel(),
      runLayer: recorded,
      hashSource: false,
      now: clock,
    });
  });
  await afterVersionAnalyzed(env, row.id, report);
}
