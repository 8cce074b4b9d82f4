/**
 * GET /v1/models/{name}/history: the versions with their summaries, and the series view of the
 * analyzed ones (core's analyzeSeries over the stored reports, in upload order), as JSON or as the
 * series HTML page.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../core/analyze.js";
import { bytesSource } from "../../core/formats/byte-source.js";
import { parseJson, stringifyJson } from "../../core/json.js";
import { analyzeSeries, type SeriesInput, type SeriesResult } from "../../core/series/index.js";
import { spectralKernel } from "../src/kernel.js";
import { recordVersion } from "../src/storage/registry.js";
import { call, postJson } from "./helpers.js";
import { paretoModel } from "./pareto-model.js";

interface History {
  model: string;
  versions: Array<{ version: string; status: string | null; summary: Record<string, number> | null; analysis_id: string | null }>;
  series: SeriesResult | null;
}

const MODEL = "hist-mlp";
/**
 * Versions in upload order with their designed alpha. Their names sort differently (v10 < v11 <
 * v12 < v9), so an answer in name order would show. v14 is v11 uploaded again (the same bytes).
 */
const VERSIONS: Array<[string, number]> = [
  ["v9", 4.0],
  ["v10", 3.0],
  ["v11", 2.5],
  ["v12", 3.5],
];
const key = (model: string, version: string): string => `history-test/${model}/${version}/model.safetensors`;

/** R2 keeps upload times to the millisecond: a pause makes the next upload strictly later. */
const nextMillisecond = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

async function upload(model: string, version: string, bytes: Uint8Array | string, options?: Record<string, unknown>): Promise<Response> {
  await env.MODELS.put(key(model, version), bytes);
  await nextMillisecond();
  return postJson("/v1/analyses", { source: { r2_key: key(model, version) }, model, version, ...(options === undefined ? {} : { options }) });
}

async function history(model: string): Promise<{ status: number; body: History }> {
  const response = await call(`/v1/models/${model}/history`);
  return { status: response.status, body: parseJson<History>(await response.text()) };
}

describe("model history with the series of its versions", () => {
  let answer: History;

  beforeAll(async () => {
    for (const [version, alpha] of VERSIONS) expect((await upload(MODEL, version, paretoModel(alpha))).status).toBe(200);
    // Not a model: the version is listed with its failed analysis, and left out of the series.
    expect((await upload(MODEL, "v13", "<!doctype html><title>not a model</title>")).status).toBe(422);
    expect((await upload(MODEL, "v14", paretoModel(2.5))).status).toBe(200);
    const { status, body } = await history(MODEL);
    expect(status).toBe(200);
    answer = body;
  });

  it("lists every version in upload order, the failed one included", () => {
    expect(answer.model).toBe(MODEL);
    expect(answer.versions.map((v) => [v.version, v.status])).toEqual([
      ["v9", "done"],
      ["v10", "done"],
      ["v11", "done"],
      ["v12", "done"],
      ["v13", "failed"],
      ["v14", "done"],
    ]);
    // v14's bytes were analyzed as v11: the same analysis.
    expect(answer.versions[5]!.analysis_id).toBe(answer.versions[2]!.analysis_id);
  });

  it("gives the series of the analyzed versions in upload order, ranked by reliable_alpha", async () => {
    const series = answer.series!;
    expect(series.schemaVersion).toBe(1);
    expect(series.checkpoints.map((c) => c.file)).toEqual(["v9", "v10", "v11", "v12", "v14"]);
    expect(series.settings.ranking_metric).toBe("reliable_alpha");
    expect(series.settings.target).toBeUndefined();
    expect(series.metrics).toEqual({});
    // Smallest designed alpha first; v11 and its re-upload v14 tie and keep upload order.
    expect(series.ranking).toEqual({ metric: "reliable_alpha", order: ["v11", "v14", "v10", "v12", "v9"], best: "v11", unranked: [] });
    expect(series.notes).toEqual(["best by reliable_alpha (smaller is better): v11"]);
    for (const c of series.checkpoints) {
      expect(c.summary.num_layers).toBe(1);
      expect(c.summary.num_reliable_layers).toBe(1);
      expect(c.layers).toHaveLength(1);
      expect(c.layers[0]!.num_evals).toBe(64);
    }
    // The series summaries are the versions' own: weightwatcher's mean alpha is the summary's alpha.
    for (const c of series.checkpoints) {
      const version = answer.versions.find((v) => v.version === c.file)!;
      expect(c.summary.ww_alpha).toBeCloseTo(version.summary!["alpha"]!, 12);
    }
    // Content identity: the R2 ETag, the same for v11 and its re-upload; no sha256, which only ever
    // holds a SHA-256 (the Worker does not hash whole objects).
    const etag11 = (await env.MODELS.head(key(MODEL, "v11")))!.etag;
    expect(series.checkpoints[2]!.content_id).toBe(`etag:${etag11}`);
    expect(series.checkpoints[4]!.content_id).toBe(`etag:${etag11}`);
    expect(new Set(series.checkpoints.map((c) => c.content_id)).size).toBe(4);
    expect(series.checkpoints.filter((c) => c.sha256 !== undefined)).toEqual([]);
  });

  it("is analyzeSeries() over the same bytes analyzed locally", async () => {
    const kernel = await spectralKernel();
    const inputs: SeriesInput[] = await Promise.all(
      answer.series!.checkpoints.map(async (c) => {
        const bytes = new Uint8Array(await (await env.MODELS.get(key(MODEL, c.file)))!.arrayBuffer());
        return { file: c.file, report: await analyze(bytesSource(bytes, c.file), {}, { kernel, hashSource: false }), content_id: c.content_id! };
      }),
    );
    expect(answer.series).toEqual(parseJson(stringifyJson(analyzeSeries(inputs))));
  });

  it("renders the series HTML with format=html: the table and the per-layer alpha chart of the versions", async () => {
    const response = await call(`/v1/models/${MODEL}/history?format=html`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await response.text();
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).toContain("<h1>alphawatch series: 5 checkpoints</h1>");
    expect(page).toContain("<li>best by reliable_alpha (smaller is better): v11</li>");
    expect(page).toContain("<td>1</td><td class=\"text\">v11</td>");
    expect(page.match(/class="aw-plot aw-series-layers"/g)).toHaveLength(1);
    // No target: no scatter plots.
    expect(page).not.toContain("aw-series-scatter");
  });
});

describe("model history edge cases", () => {
  it("a model without an analyzed version: series null, 409 for its HTML", async () => {
    expect((await upload("hist-broken", "v1", "not a model either")).status).toBe(422);
    const { status, body } = await history("hist-broken");
    expect(status).toBe(200);
    expect(body.versions.map((v) => [v.version, v.status])).toEqual([["v1", "failed"]]);
    expect(body.series).toBeNull();
    const html = await call("/v1/models/hist-broken/history?format=html");
    expect(html.status).toBe(409);
    expect(await html.json()).toEqual({ error: { code: "not_ready", message: "model hist-broken has no analyzed version yet: no series to render" } });
    expect((await call("/v1/models/hist-nothing/history?format=html")).status).toBe(404);
    expect((await call("/v1/models/hist-broken/history?format=pdf")).status).toBe(400);
  });

  it("above 64 analyzed versions keeps the latest 64, and says when the options differ", async () => {
    // 65 versions of the same bytes share one analysis (recorded straight into the registry, as
    // the scan would record them, to keep the test quick); the 66th asks for other options.
    const bytes = paretoModel(3.0);
    await env.MODELS.put(key("hist-long", "shared"), bytes);
    const analysis = (await (await postJson("/v1/analyses", { source: { r2_key: key("hist-long", "shared") } })).json()) as { id: string; status: string };
    expect(analysis.status).toBe("done");
    const etag = (await env.MODELS.head(key("hist-long", "shared")))!.etag;
    for (let i = 1; i <= 65; i++) {
      await recordVersion(env.DB, {
        model: "hist-long",
        version: `v${String(i).padStart(3, "0")}`,
        source_key: `r2:${key("hist-long", "shared")}`,
        etag,
        uploaded_at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
        analysis_id: analysis.id,
      });
    }
    expect((await upload("hist-long", "v066", bytes, { min_evals: 20 })).status).toBe(200);
    const { body } = await history("hist-long");
    expect(body.versions).toHaveLength(66);
    const series = body.series!;
    expect(series.checkpoints).toHaveLength(64);
    expect(series.checkpoints[0]!.file).toBe("v003");
    expect(series.checkpoints[63]!.file).toBe("v066");
    expect(series.notes.slice(0, 3)).toEqual([
      "the series holds the latest 64 of the 66 analyzed versions (oldest left out: v001)",
      "the versions were analyzed with 2 different sets of options: their metrics are not strictly comparable",
      "best by reliable_alpha (smaller is better): v003",
    ]);
  });
});
