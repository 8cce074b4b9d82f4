import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env.js";
import type { JobMessage } from "../src/fanout/messages.js";
import worker from "../src/index.js";
import { badgeColor, badgeText } from "../src/badge.js";
import { scanRegistry } from "../src/scan/scheduled.js";
import type { FailWebhookBody } from "../src/scan/webhook.js";
import { call, capturingQueue, twoLayerModel } from "./helpers.js";

const WEBHOOK = "https://hooks.example.test/alphawatch";

async function deliver(messages: JobMessage[], overrides: Partial<Env>): Promise<void> {
  const batch = createMessageBatch<JobMessage>("alphawatch-jobs", messages.map((body, i) => ({
    id: `s${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body,
  })));
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(messages.length);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("scheduled registry scan", () => {
  it("finds new versions, analyzes them, compares with the previous one and posts the webhook on fail", async () => {
    const jobs = capturingQueue();
    const settings: Partial<Env> = { SCAN_PREFIXES: "scan-test/", WEBHOOK_URL: WEBHOOK, JOBS: jobs };
    // A local receiver for the webhook: the Worker's outbound fetch, answered in the test.
    const received: FailWebhookBody[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (request.url !== WEBHOOK) return realFetch(input, init);
      received.push((await request.json()) as FailWebhookBody);
      return new Response("ok");
    });

    await env.MODELS.put("scan-test/mlp/v1/model.safetensors", twoLayerModel(61));
    await env.MODELS.put("scan-test/mlp/v1/config.json", "{}");
    await env.MODELS.put("scan-test/loose-file.safetensors", twoLayerModel(62));

    // The cron handler itself: it queues the one version it finds.
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/30 * * * *" }), { ...env, ...settings }, ctx);
    await waitOnExecutionContext(ctx);
    expect(jobs.sent).toEqual([{ kind: "scan-version", key: "scan-test/mlp/v1/model.safetensors", model: "mlp", version: "v1" }]);
    await deliver(jobs.sent.splice(0), settings);

    // Nothing new: nothing queued.
    expect((await scanRegistry({ ...env, ...settings } as Env)).queued).toEqual([]);

    // v2: the same weights scaled by 1/20, so every layer's spectral norm collapses (a `fail`).
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later upload time than v1
    await env.MODELS.put("scan-test/mlp/v2/model.safetensors", twoLayerModel(61, 0.05));
    const second = await scanRegistry({ ...env, ...settings } as Env);
    expect(second.versionsSeen).toBe(2);
    expect(second.queued).toEqual([{ kind: "scan-version", key: "scan-test/mlp/v2/model.safetensors", model: "mlp", version: "v2" }]);
    await deliver(jobs.sent.splice(0), settings);

    expect(received).toHaveLength(1);
    const hook = received[0]!;
    expect(hook.event).toBe("alphawatch.regression");
    expect([hook.model, hook.version, hook.previous_version, hook.verdict]).toEqual(["mlp", "v2", "v1", "fail"]);
    expect(hook.text.startsWith("alphawatch: mlp v2 fails against v1: ")).toBe(true);
    expect(hook.reasons.length).toBeGreaterThan(0);

    // History: both versions with their summaries, oldest first.
    const history = (await (await call("/v1/models/mlp/history")).json()) as {
      model: string;
      versions: Array<{ version: string; status: string; summary: { num_layers: number; log_spectral_norm: number } }>;
    };
    expect(history.model).toBe("mlp");
    expect(history.versions.map((v) => [v.version, v.status, v.summary.num_layers])).toEqual([["v1", "done", 2], ["v2", "done", 2]]);
    // Scaling W by 1/20 scales every eigenvalue by 1/400: log10 spectral norm drops by log10(400).
    expect(history.versions[0]!.summary.log_spectral_norm - history.versions[1]!.summary.log_spectral_norm).toBeCloseTo(Math.log10(400), 5);

    // The badge shows v2's mean alpha; POST /v1/comparisons gives the same verdict on the two ids.
    const v2 = (history.versions[1] as unknown as { summary: { alpha?: number }; analysis_id: string });
    const badge = await (await call("/v1/models/mlp/badge.svg")).text();
    expect(badge).toContain(v2.summary.alpha === undefined ? ">no report</text>" : `>${v2.summary.alpha.toFixed(2)}`);
    const compared = await call("/v1/comparisons", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        base: { analysis_id: (history.versions[0] as unknown as { analysis_id: string }).analysis_id },
        head: { analysis_id: v2.analysis_id },
      }),
    });
    expect(compared.status).toBe(200);
    expect(((await compared.json()) as { verdict: string }).verdict).toBe("fail");

    // The stored comparison.
    const stored = await env.REPORTS.get("comparisons/mlp/v2.json");
    expect(((await stored!.json()) as { verdict: string }).verdict).toBe("fail");
  });

  it("no webhook on a version that passes", async () => {
    const jobs = capturingQueue();
    const settings: Partial<Env> = { SCAN_PREFIXES: "scan-pass/", WEBHOOK_URL: WEBHOOK, JOBS: jobs };
    const spy = vi.spyOn(globalThis, "fetch");
    await env.MODELS.put("scan-pass/net/a/model.safetensors", twoLayerModel(71));
    await scanRegistry({ ...env, ...settings } as Env);
    await deliver(jobs.sent.splice(0), settings);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await env.MODELS.put("scan-pass/net/b/model.safetensors", twoLayerModel(71));
    await scanRegistry({ ...env, ...settings } as Env);
    await deliver(jobs.sent.splice(0), settings);
    expect(spy.mock.calls.filter(([input]) => String(input instanceof Request ? input.url : input) === WEBHOOK)).toEqual([]);
    const comparison = (await (await env.REPORTS.get("comparisons/net/b.json"))!.json()) as { verdict: string };
    expect(comparison.verdict).toBe("pass");
  });
});

describe("model badge", () => {
  it("colors by weightwatcher's bands", () => {
    expect([badgeColor(1.5), badgeColor(3), badgeColor(7), badgeColor(null)]).toEqual(["#c62828", "#2e7d32", "#ef6c00", "#757575"]);
    expect([badgeText(1.5), badgeText(3.456), badgeText(7)]).toEqual(["1.50 over-trained", "3.46", "7.00 under-trained"]);
  });

  it("shows the latest analyzed version's mean alpha, grey without one", async () => {
    const none = await call("/v1/models/unknown-model/badge.svg");
    expect(none.status).toBe(200);
    expect(none.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    const svg = await none.text();
    expect(svg).toContain(">no report</text>");
    expect(svg).toContain('fill="#757575"');
    expect((await call("/v1/models/unknown-model/history")).status).toBe(404);
  });
});
