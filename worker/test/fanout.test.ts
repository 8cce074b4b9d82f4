import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env.js";
import type { JobMessage } from "../src/fanout/messages.js";
import worker from "../src/index.js";
import type { AnalysisView } from "../src/routes/analyses.js";
import { call, capturingQueue, postJson, twoLayerModel } from "./helpers.js";

/** Fan out anything above 1 kB. */
const SMALL_INLINE = { INLINE_MAX_BYTES: "1000" };

async function deliver(messages: JobMessage[], overrides: Partial<Env> = {}, attempts = 1): Promise<string[]> {
  const batch = createMessageBatch<JobMessage>("alphawatch-jobs", messages.map((body, i) => ({
    id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body,
  })));
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
  return result.explicitAcks;
}

describe("fan-out of a large model over the Queue", () => {
  it("one message per layer; the last consumer completes the report, equal to the inline one", async () => {
    await env.MODELS.put("fanout-test/a/model.safetensors", twoLayerModel(21));
    const jobs = capturingQueue();
    const started = await postJson("/v1/analyses", { source: { r2_key: "fanout-test/a/model.safetensors" } }, { ...SMALL_INLINE, JOBS: jobs });
    expect(started.status).toBe(202);
    const view = (await started.json()) as AnalysisView;
    expect(view.status).toBe("running");
    expect(view.progress).toEqual({ layers_done: 0, layers_total: 2 });
    expect(jobs.sent).toEqual([
      { kind: "layer", analysisId: view.id, layerKey: "1#" },
      { kind: "layer", analysisId: view.id, layerKey: "2#" },
    ]);

    expect(await deliver([jobs.sent[0]!])).toHaveLength(1);
    const halfway = (await (await call(`/v1/analyses/${view.id}`)).json()) as AnalysisView;
    expect(halfway.status).toBe("running");
    expect(halfway.progress).toEqual({ layers_done: 1, layers_total: 2 });

    // The second layer, delivered twice (at-least-once delivery): counted once.
    expect(await deliver([jobs.sent[1]!, jobs.sent[1]!])).toHaveLength(2);
    const done = (await (await call(`/v1/analyses/${view.id}`)).json()) as AnalysisView;
    expect(done.status).toBe("done");
    expect(done.progress).toEqual({ layers_done: 2, layers_total: 2 });

    // The same bytes analyzed inline (min_evals 11 changes no layer here, but makes the options
    // differ so the analysis is not deduplicated onto the fanned-out one): the same numbers.
    await env.MODELS.put("fanout-test/inline/model.safetensors", twoLayerModel(21));
    const inline = (await (await postJson("/v1/analyses", { source: { r2_key: "fanout-test/inline/model.safetensors" }, options: { min_evals: 11 } })).json()) as AnalysisView;
    const fanned = done.report!;
    expect(fanned.layers.map((l) => l.name)).toEqual(["fc1", "fc2"]);
    for (const [i, layer] of fanned.layers.entries()) {
      expect(layer.alpha).toBe(inline.report!.layers[i]!.alpha);
      expect(layer.log_norm).toBe(inline.report!.layers[i]!.log_norm);
    }
    expect(fanned.skipped).toEqual([{ name: "fc1.bias", reason: "bias of layer fc1: biases are not analyzed" }]);
    expect(fanned.summary).toEqual(inline.report!.summary);
    // The ESD plot works for fanned-out layers too (eigenvalues stored by the consumer).
    expect(await (await call(`/v1/analyses/${view.id}/layers/fc2/esd.svg`)).text()).toContain("ESD of fc2");
  });

  it("a layer whose deliveries all failed is reported as skipped with the reason; the report completes", async () => {
    await env.MODELS.put("fanout-test/b/model.safetensors", twoLayerModel(31));
    const jobs = capturingQueue();
    const view = (await (await postJson("/v1/analyses", { source: { r2_key: "fanout-test/b/model.safetensors" } }, { ...SMALL_INLINE, JOBS: jobs })).json()) as AnalysisView;
    await deliver([jobs.sent[0]!]);
    // Fourth delivery: the earlier three ended without a result (e.g. the CPU limit).
    await deliver([jobs.sent[1]!], {}, 4);
    const done = (await (await call(`/v1/analyses/${view.id}`)).json()) as AnalysisView;
    expect(done.status).toBe("done");
    expect(done.report!.layers.map((l) => l.name)).toEqual(["fc1"]);
    expect(done.report!.skipped).toContainEqual({
      name: "fc2.weight",
      reason: "failed after 3 attempts that did not finish (CPU time limit or isolate crash)",
    });
  });

  it("an error on the last allowed delivery is recorded with its message", async () => {
    await env.MODELS.put("fanout-test/c/model.safetensors", twoLayerModel(41));
    const jobs = capturingQueue();
    const view = (await (await postJson("/v1/analyses", { source: { r2_key: "fanout-test/c/model.safetensors" } }, { ...SMALL_INLINE, JOBS: jobs })).json()) as AnalysisView;
    await deliver([jobs.sent[0]!]);
    // The object disappears before the last layer runs: that delivery fails on its third attempt.
    await env.MODELS.delete("fanout-test/c/model.safetensors");
    await deliver([jobs.sent[1]!], {}, 3);
    const after = (await (await call(`/v1/analyses/${view.id}`)).json()) as AnalysisView;
    // The report cannot be assembled without the source: the analysis fails with a reason.
    expect(after.status).toBe("failed");
    expect(after.error).toEqual({ code: "source_not_found", message: "r2://fanout-test/c/model.safetensors: no such object" });
    const recorded = await env.DB.prepare("SELECT outcome_json FROM layer_results WHERE analysis_id = ? AND layer_key = '2#'").bind(view.id).first<{ outcome_json: string }>();
    expect(JSON.parse(recorded!.outcome_json).skipped.reason).toBe("failed after 3 attempts: r2://fanout-test/c/model.safetensors: no such object");
  });

  it("through the real Queue binding: the configured consumer completes the analysis", async () => {
    await env.MODELS.put("fanout-test/real/model.safetensors", twoLayerModel(51));
    const started = await postJson("/v1/analyses", { source: { r2_key: "fanout-test/real/model.safetensors" } }, SMALL_INLINE);
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as AnalysisView;
    let view: AnalysisView | undefined;
    for (let poll = 0; poll < 100; poll++) {
      view = (await (await call(`/v1/analyses/${id}`)).json()) as AnalysisView;
      if (view.status === "done" || view.status === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(view!.status).toBe("done");
    expect(view!.report!.layers.map((l) => [l.name, l.N, l.M])).toEqual([["fc1", 128, 64], ["fc2", 96, 64]]);
  });
});
