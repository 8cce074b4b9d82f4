import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../core/analyze.js";
import { bytesSource } from "../../core/formats/byte-source.js";
import { parseJson, stringifyJson } from "../../core/json.js";
import { analyzeSeries, type SeriesResult } from "../../core/series/index.js";
import type { Env } from "../src/env.js";
import type { JobMessage } from "../src/fanout/messages.js";
import worker from "../src/index.js";
import { spectralKernel } from "../src/kernel.js";
import type { SeriesProgress } from "../src/series/run.js";
import { call, capturingQueue, postJson } from "./helpers.js";
import { paretoModel } from "./pareto-model.js";

const PREFIX = "series-test/family/";
/** Checkpoints named in training order; the designed alpha falls as training goes on. */
const DESIGNED_ALPHA: Record<string, number> = { ep1: 4.0, ep2: 3.5, ep3: 3.0, ep4: 2.5, ep5: 2.0 };
const key = (name: string): string => `${PREFIX}${name}.safetensors`;
/** ep1..ep5 and a copy of ep5 under another key (the same bytes). */
const KEYS = [...Object.keys(DESIGNED_ALPHA).map(key), key("ep5-copy")];

async function countAnalyses(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM analyses").first<{ n: number }>())!.n;
}

async function seriesJson(response: Response): Promise<SeriesResult> {
  return parseJson<SeriesResult>(await response.text());
}

/** Delivers Queue messages to the Worker's consumer, as the Queue would. */
async function deliver(messages: JobMessage[], overrides: Partial<Env>): Promise<void> {
  const batch = createMessageBatch<JobMessage>(
    "alphawatch-jobs",
    messages.map((body, i) => ({ id: `s${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...overrides }, ctx);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}

beforeAll(async () => {
  for (const [name, alpha] of Object.entries(DESIGNED_ALPHA)) await env.MODELS.put(key(name), paretoModel(alpha));
  await env.MODELS.put(key("ep5-copy"), paretoModel(DESIGNED_ALPHA["ep5"]!));
  // Not model files: a prefix series leaves them out.
  await env.MODELS.put(`${PREFIX}labels.tsv`, "file\ttest_acc\n");
  await env.MODELS.put(`${PREFIX}README.md`, "checkpoints of one run");
});

describe("POST /v1/series over R2 keys, with labels", () => {
  // Accuracy rises with training: a perfect inverse ranking of the designed alpha.
  const LABELS = [
    "file\ttest_acc\ttest_size",
    "ep1.safetensors\t0.60\t10000",
    "ep2.safetensors\t0.70\t10000",
    "ep3.safetensors\t0.80\t10000",
    "ep4.safetensors\t0.85\t10000",
    "ep5.safetensors\t0.90\t10000",
    "ep5-copy.safetensors\t0.90\t10000",
  ].join("\n");
  let before: number;
  let response: Response;
  let result: SeriesResult;

  beforeAll(async () => {
    before = await countAnalyses();
    response = await postJson("/v1/series", { sources: { r2_keys: KEYS }, labels: { text: LABELS } });
    result = await seriesJson(response.clone());
  });

  it("analyzes the checkpoints in the request; the copy of ep5 (same bytes) is analyzed once", async () => {
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await countAnalyses()).toBe(before + 5);
    expect(result.checkpoints.map((c) => c.file)).toEqual(KEYS);
    // The content identity is the R2 ETag. The Worker never hashes whole objects, so there is no
    // sha256: that field only ever holds a SHA-256 of the bytes.
    const etag5 = (await env.MODELS.head(key("ep5")))!.etag;
    expect(result.checkpoints[4]!.content_id).toBe(`etag:${etag5}`);
    expect(result.checkpoints[5]!.content_id).toBe(`etag:${etag5}`);
    expect(new Set(result.checkpoints.map((c) => c.content_id)).size).toBe(5);
    expect(result.checkpoints.filter((c) => c.sha256 !== undefined)).toEqual([]);
    expect(result.notes).toContain(`${key("ep5-copy")} has the same content as ${key("ep5")}: counted once in pooled figures`);
  });

  it("ranks by reliable_alpha, smallest first: the designed order", () => {
    expect(result.ranking.metric).toBe("reliable_alpha");
    // ep5 and its copy tie; ties keep the order the keys were given in.
    expect(result.ranking.order).toEqual([key("ep5"), key("ep5-copy"), key("ep4"), key("ep3"), key("ep2"), key("ep1")]);
    expect(result.ranking.best).toBe(key("ep5"));
    expect(result.notes).toContain(`best by reliable_alpha (smaller is better): ${key("ep5")}`);
    for (const c of result.checkpoints) {
      expect(c.summary.num_reliable_layers).toBe(1);
      expect(c.layers).toHaveLength(1);
      expect(c.layers[0]!.num_evals).toBe(64);
      expect(c.target).toBe(Number(LABELS.split("\n").find((line) => c.file.endsWith(`/${line.split("\t")[0]}`))!.split("\t")[1]));
      expect(c.test_size).toBe(10000);
    }
  });

  it("gives the hand-computed rank correlations (5 distinct checkpoints, exact p-values)", () => {
    const alpha = result.metrics.reliable_alpha!;
    expect(alpha.n).toBe(5);
    expect(alpha.p_method).toBe("exact");
    // A perfect inverse ranking: rho = tau = −1; 2 of the 5! orderings are as extreme.
    expect(alpha.spearman).toBeCloseTo(-1, 12);
    expect(alpha.kendall).toBeCloseTo(-1, 12);
    expect(alpha.spearman_p).toBeCloseTo(2 / 120, 12);
    expect(alpha.kendall_p).toBeCloseTo(2 / 120, 12);
    expect(alpha.smaller_is_better).toBe(true);
    expect(alpha.conclusion).toBe("smaller is better holds (Spearman -1.00, p = 0.017)");
    // Heavier tails: larger norms. The norms rise with accuracy.
    for (const metric of ["ww_log_norm", "ww_log_spectral_norm"] as const) {
      expect(result.metrics[metric]!.spearman).toBeCloseTo(1, 12);
      expect(result.metrics[metric]!.smaller_is_better).toBe(false);
      expect(result.metrics[metric]!.direction).toBe("larger is better");
    }
    expect(result.target_noise!.within_noise).toBe(false);
  });

  it("answers the JSON of analyzeSeries() over the same bytes analyzed locally", async () => {
    const kernel = await spectralKernel();
    const inputs = await Promise.all(
      KEYS.map(async (k, i) => {
        const bytes = new Uint8Array(await (await env.MODELS.get(k))!.arrayBuffer());
        // Like the Worker, without hashing the bytes.
        const report = await analyze(bytesSource(bytes, k), {}, { kernel, hashSource: false });
        const checkpoint = result.checkpoints[i]!;
        return { file: k, report, content_id: checkpoint.content_id!, target: checkpoint.target!, test_size: checkpoint.test_size! };
      }),
    );
    const local = analyzeSeries(inputs, { target: { column: "test_acc", better: "higher", kind: "proportion" } });
    expect(result).toEqual(parseJson(stringifyJson(local)));
  });

  it("GET /v1/series/{id} (the Location) gives the same result, and HTML with format=html", async () => {
    const location = response.headers.get("location")!;
    expect(location).toMatch(/^\/v1\/series\/[0-9a-f-]{36}$/);
    const again = await call(location);
    expect(again.status).toBe(200);
    expect(await seriesJson(again)).toEqual(result);
    const html = await call(`${location}?format=html`);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await html.text();
    expect(page).toContain("<h1>alphawatch series: 6 checkpoints</h1>");
    expect(page).toContain("<svg");
    expect(page).toContain(key("ep3"));
    expect((await call("/v1/series/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  });

  it("a second series over the same keys reuses every analysis; labels as rows; Spearman of a shuffled target", async () => {
    const count = await countAnalyses();
    // By designed alpha ascending (ep5, ep4, ep3, ep2, ep1) the target's ranks are 5, 3, 4, 2, 1:
    // Σd² = 16 + 1 + 1 + 4 + 16 = 38, rho = 1 − 6·38/(5·24) = −0.9; 1 concordant and 9 discordant
    // pairs, tau = −0.8. Exact two-sided p: 10 of the 120 orderings are as extreme for each.
    const rows = [
      { file: "ep5.safetensors", test_acc: 0.95 },
      { file: "ep4.safetensors", test_acc: 0.9 },
      { file: "ep3.safetensors", test_acc: 0.92 },
      { file: "ep2.safetensors", test_acc: 0.8 },
      { file: "ep1.safetensors", test_acc: 0.7 },
    ];
    const keys = KEYS.slice(0, 5);
    const shuffled = await postJson("/v1/series", { sources: { r2_keys: keys }, labels: { rows }, test_size: 10000, metric: "ww_log_norm" });
    expect(shuffled.status).toBe(200);
    expect(await countAnalyses()).toBe(count);
    const series = await seriesJson(shuffled);
    const alpha = series.metrics.reliable_alpha!;
    expect(alpha.spearman).toBeCloseTo(-0.9, 12);
    expect(alpha.kendall).toBeCloseTo(-0.8, 12);
    expect(alpha.spearman_p).toBeCloseTo(10 / 120, 12);
    expect(alpha.kendall_p).toBeCloseTo(10 / 120, 12);
    expect(alpha.smaller_is_better).toBeNull();
    expect(alpha.conclusion).toBe("no conclusion: the rank correlation is not significant (Spearman -0.90, p = 0.083)");
    expect(series.metrics.ww_log_norm!.spearman).toBeCloseTo(0.9, 12);
    // Ranked by ww_log_norm, smaller first: the lightest tail (ep1) first.
    expect(series.ranking).toEqual({ metric: "ww_log_norm", order: [key("ep1"), key("ep2"), key("ep3"), key("ep4"), key("ep5")], best: key("ep1"), unranked: [] });
    expect(series.checkpoints.map((c) => c.test_size)).toEqual([10000, 10000, 10000, 10000, 10000]);
  });
});

describe("POST /v1/series over a prefix, without labels", () => {
  it("lists the model files under the prefix in key order and ranks them", async () => {
    const count = await countAnalyses();
    const response = await postJson("/v1/series", { sources: { prefix: PREFIX } });
    expect(response.status).toBe(200);
    expect(await countAnalyses()).toBe(count);
    const result = await seriesJson(response);
    // Key order: "-" sorts before ".", so the copy comes before ep5; labels.tsv and README.md are left out.
    expect(result.checkpoints.map((c) => c.file)).toEqual([key("ep1"), key("ep2"), key("ep3"), key("ep4"), key("ep5-copy"), key("ep5")]);
    expect(result.metrics).toEqual({});
    expect(result.settings.target).toBeUndefined();
    expect(result.ranking.order).toEqual([key("ep5-copy"), key("ep5"), key("ep4"), key("ep3"), key("ep2"), key("ep1")]);
    expect(result.ranking.best).toBe(key("ep5-copy"));
  });

  it("400 for a prefix without model files", async () => {
    const response = await postJson("/v1/series", { sources: { prefix: "series-test/nothing/" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: "no_checkpoints",
        message: "prefix series-test/nothing/ holds no model file (endings: .safetensors, .gguf, .onnx, .pt, .pth, .bin, .h5, .keras, .npz, model.json)",
      },
    });
  });
});

describe("POST /v1/series with a checkpoint above INLINE_MAX_BYTES", () => {
  it("answers 202 with a series id; GET gives the result once the Queue has analyzed the layers", async () => {
    const jobs = capturingQueue();
    const overrides = { INLINE_MAX_BYTES: "1000", JOBS: jobs };
    const keys = KEYS.slice(0, 3);
    // Options of their own, so these analyses are new and go over the Queue.
    const body = { sources: { r2_keys: keys }, options: { min_evals: 20 } };
    const started = await call("/v1/series", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, overrides });
    expect(started.status).toBe(202);
    const progress = (await started.json()) as SeriesProgress;
    expect(progress.status).toBe("running");
    expect(progress.progress).toEqual({ analyses_done: 0, analyses_total: 3 });
    expect(progress.checkpoints.map((c) => [c.file, c.status])).toEqual(keys.map((k) => [k, "running"]));
    expect(jobs.sent).toHaveLength(3);
    expect(started.headers.get("location")).toBe(`/v1/series/${progress.id}`);

    await deliver([jobs.sent[0]!], overrides);
    const halfway = await call(`/v1/series/${progress.id}`);
    expect(halfway.status).toBe(202);
    expect(((await halfway.json()) as SeriesProgress).progress).toEqual({ analyses_done: 1, analyses_total: 3 });

    await deliver(jobs.sent.slice(1), overrides);
    const done = await call(`/v1/series/${progress.id}`);
    expect(done.status).toBe(200);
    const result = await seriesJson(done);
    expect(result.checkpoints.map((c) => c.file)).toEqual(keys);
    expect(result.ranking.order).toEqual([key("ep3"), key("ep2"), key("ep1")]);
    // The ETag identifies the content of fanned-out checkpoints too.
    expect(result.checkpoints.map((c) => c.sha256)).toEqual([undefined, undefined, undefined]);
    for (const [i, c] of result.checkpoints.entries()) expect(c.content_id).toBe(`etag:${(await env.MODELS.head(keys[i]!))!.etag}`);
  });
});

describe("the OpenAPI document", () => {
  it("documents POST /v1/series with its request schema and GET /v1/series/{id}", async () => {
    const document = (await (await call("/openapi.json", { auth: null })).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(document.paths["/v1/series"]!)).toEqual(["post"]);
    expect(Object.keys(document.paths["/v1/series"]!["post"]!.responses).sort()).toEqual(["200", "202", "400", "401", "403", "404", "413", "422"]);
    expect(Object.keys(document.paths["/v1/series/{id}"]!)).toEqual(["get"]);
    expect(Object.keys(document.components.schemas["SeriesRequest"]!.properties!).sort()).toEqual(
      ["group", "labels", "metric", "min_fit_evals", "options", "sources", "target", "target_better", "target_kind", "test_size"],
    );
  });
});

describe("POST /v1/series: refused requests", () => {
  async function refused(body: unknown): Promise<{ status: number; error: { code: string; message: string } }> {
    const response = await postJson("/v1/series", body);
    return { status: response.status, error: ((await response.json()) as { error: { code: string; message: string } }).error };
  }

  it("401 without a key", async () => {
    const response = await call("/v1/series", { method: "POST", body: JSON.stringify({ sources: { r2_keys: KEYS } }), auth: null });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect((await call("/v1/series/00000000-0000-4000-8000-000000000000", { auth: null })).status).toBe(401);
  });

  it("400 for malformed bodies, before anything is analyzed", async () => {
    const count = await countAnalyses();
    const cases: Array<[unknown, string]> = [
      [{}, "json.sources"],
      [{ sources: {} }, "give either r2_keys or prefix"],
      [{ sources: { r2_keys: KEYS, prefix: PREFIX } }, "give either r2_keys or prefix"],
      [{ sources: { r2_keys: [] } }, "give at least one key"],
      [{ sources: { r2_keys: Array.from({ length: 65 }, (_, i) => `m/${i}.safetensors`) } }, "json.sources.r2_keys: a series holds at most 64 checkpoints"],
      [{ sources: { r2_keys: KEYS }, metric: "mean_alpha" }, "json.metric"],
      [{ sources: { r2_keys: KEYS }, min_fit_evals: -1 }, "json.min_fit_evals"],
      [{ sources: { r2_keys: KEYS }, options: { min_evals: 5, colour: "red" } }, "json.options"],
      [{ sources: { r2_keys: KEYS }, extra: true }, "extra"],
      [{ sources: { r2_keys: KEYS }, labels: { text: "" } }, "json.labels"],
    ];
    for (const [body, where] of cases) {
      const { status, error } = await refused(body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(error.code).toBe("bad_request");
      expect(error.message).toContain(where);
    }
    expect(await countAnalyses()).toBe(count);
  });

  it("400 naming the problem: keys, labels and their columns", async () => {
    const count = await countAnalyses();
    expect(await refused({ sources: { r2_keys: ["series-test/../x.safetensors"] } })).toEqual({
      status: 400,
      error: { code: "bad_key", message: 'object key "series-test/../x.safetensors" has a ".." path segment' },
    });
    expect(await refused({ sources: { r2_keys: [KEYS[0], KEYS[0]] } })).toEqual({
      status: 400,
      error: { code: "bad_request", message: `sources.r2_keys: ${KEYS[0]} is given twice` },
    });
    expect(await refused({ sources: { r2_keys: KEYS }, target: "test_acc" })).toEqual({
      status: 400,
      error: { code: "bad_request", message: "target needs labels" },
    });
    expect(await refused({ sources: { r2_keys: KEYS }, labels: { text: "name,test_acc\nep1,0.5\n" } })).toEqual({
      status: 400,
      error: { code: "bad_request", message: 'labels: labels file has no "file" column (header: name, test_acc)' },
    });
    expect(await refused({ sources: { r2_keys: KEYS }, labels: { rows: [{ file: "ep1.safetensors", accuracy: 0.5 }] } })).toEqual({
      status: 400,
      error: {
        code: "bad_request",
        message: 'labels: the default target (target) names column "test_acc", which the labels do not have (columns: file, accuracy)',
      },
    });
    expect(await refused({ sources: { r2_keys: KEYS }, labels: { rows: [{ file: "ep1.safetensors", test_acc: "high" }] } })).toEqual({
      status: 400,
      error: { code: "bad_request", message: 'labels: ep1.safetensors: column "test_acc" has "high", not a number' },
    });
    expect(await countAnalyses()).toBe(count);
  });

  it("404 for a missing object, naming it, before the others are analyzed", async () => {
    const count = await countAnalyses();
    await env.MODELS.put("series-test/other/a.safetensors", paretoModel(2.2));
    expect(await refused({ sources: { r2_keys: ["series-test/other/a.safetensors", "series-test/other/none.safetensors"] } })).toEqual({
      status: 404,
      error: { code: "source_not_found", message: "r2://series-test/other/none.safetensors: no such object" },
    });
    expect(await countAnalyses()).toBe(count);
  });

  it("422 for an object that is no model, naming it", async () => {
    await env.MODELS.put("series-test/bad/page.safetensors", "<!doctype html><title>not a model</title>");
    const { status, error } = await refused({ sources: { r2_keys: [KEYS[0], "series-test/bad/page.safetensors"] } });
    expect(status).toBe(422);
    expect(error.code).toBe("bad_model_format");
    expect(error.message).toContain("r2://series-test/bad/page.safetensors");
  });
});
