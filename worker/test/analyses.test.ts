import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../../core/analyze.js";
import { bytesSource } from "../../core/formats/byte-source.js";
import type { Report } from "../../core/report.js";
import { spectralKernel } from "../src/kernel.js";
import type { AnalysisView } from "../src/routes/analyses.js";
import { call, postJson, randomValues, safetensorsBytes, sumOfSquares } from "./helpers.js";

const EXAMPLE_KEY = "analyses-test/mlp/model.safetensors";

describe("POST /v1/analyses (inline) and GET /v1/analyses/{id}", () => {
  let first: AnalysisView;

  beforeAll(async () => {
    await env.MODELS.put(EXAMPLE_KEY, env.EXAMPLE_MODEL);
    const response = await postJson("/v1/analyses", { source: { r2_key: EXAMPLE_KEY } });
    expect(response.status).toBe(200);
    first = (await response.json()) as AnalysisView;
  });

  it("answers a small model with its report", () => {
    expect(first.status).toBe("done");
    expect(first.deduplicated).toBe(false);
    const report = first.report!;
    expect(report.source.path).toBe(`r2://${EXAMPLE_KEY}`);
    expect(report.source.format).toBe("safetensors");
    expect(report.source.size).toBe(env.EXAMPLE_MODEL.byteLength);
    expect(report.layers.map((l) => [l.name, l.N, l.M])).toEqual([
      ["fc1", 784, 300],
      ["fc2", 300, 100],
      ["fc3", 100, 10],
    ]);
    expect(first.summary!.num_layers).toBe(3);
    expect(first.progress).toEqual({ layers_done: 0, layers_total: 0 });
  });

  it("gives the same numbers as core's analyze() on the same bytes", async () => {
    const local = await analyze(bytesSource(new Uint8Array(env.EXAMPLE_MODEL), "local"), {}, { kernel: await spectralKernel() });
    const columns = ["alpha", "log_norm", "stable_rank", "lambda_max", "entropy", "D", "xmin"] as const;
    for (const [i, layer] of first.report!.layers.entries()) {
      for (const column of columns) expect(layer[column]).toBe(local.layers[i]![column]);
    }
    expect(first.report!.summary).toEqual(local.summary);
  });

  it("reuses the analysis of the same bytes: same key, or another key with the same ETag", async () => {
    const again = (await (await postJson("/v1/analyses", { source: { r2_key: EXAMPLE_KEY } })).json()) as AnalysisView;
    expect(again.id).toBe(first.id);
    expect(again.deduplicated).toBe(true);
    expect(again.report!.summary).toEqual(first.report!.summary);
    await env.MODELS.put("analyses-test/copy/model.safetensors", env.EXAMPLE_MODEL);
    const copy = (await (await postJson("/v1/analyses", { source: { r2_key: "analyses-test/copy/model.safetensors" } })).json()) as AnalysisView;
    expect(copy.id).toBe(first.id);
    expect(copy.deduplicated).toBe(true);
    const otherOptions = (await (await postJson("/v1/analyses", { source: { r2_key: EXAMPLE_KEY }, options: { min_evals: 50 } })).json()) as AnalysisView;
    expect(otherOptions.id).not.toBe(first.id);
    expect(otherOptions.report!.layers.map((l) => l.name)).toEqual(["fc1", "fc2"]);
    expect(otherOptions.report!.skipped).toContainEqual({ name: "fc3.weight", reason: "M·rf = 10 eigenvalues, fewer than min_evals 50" });
  });

  it("GET returns the stored analysis, as JSON, Markdown or HTML", async () => {
    const json = await call(`/v1/analyses/${first.id}`);
    expect(json.status).toBe(200);
    const view = (await json.json()) as AnalysisView;
    expect(view.status).toBe("done");
    expect((view.report as Report).layers.map((l) => l.alpha)).toEqual(first.report!.layers.map((l) => l.alpha));
    expect((view.report as Report).layers[0]!.evals).toBeUndefined();

    const markdown = await call(`/v1/analyses/${first.id}?format=markdown`);
    expect(markdown.status).toBe(200);
    expect(markdown.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    expect(await markdown.text()).toContain("fc1");

    const html = await call(`/v1/analyses/${first.id}?format=html`);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await html.text();
    expect(page).toContain("<svg");
    expect(page).toContain(`r2://${EXAMPLE_KEY}`);
  });

  it("draws a layer's ESD from the stored eigenvalues", async () => {
    const response = await call(`/v1/analyses/${first.id}/layers/fc2/esd.svg`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    const svg = await response.text();
    expect(svg).toContain("ESD of fc2");
    expect(svg).not.toContain("no eigenvalues in the report");
    expect((await call(`/v1/analyses/${first.id}/layers/fc9/esd.svg`)).status).toBe(404);
  });

  it("404 for an unknown analysis, 400 for an id that is not a UUID", async () => {
    const missing = await call("/v1/analyses/00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: "not_found", message: "analysis 00000000-0000-4000-8000-000000000000 does not exist" } });
    expect((await call("/v1/analyses/not-an-id")).status).toBe(400);
  });
});

describe("sources the API cannot analyze", () => {
  it("404 for a key with no object", async () => {
    const response = await postJson("/v1/analyses", { source: { r2_key: "analyses-test/none.safetensors" } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "source_not_found", message: "r2://analyses-test/none.safetensors: no such object" } });
  });

  it("422 for bytes that are no model, and the failed analysis is recorded", async () => {
    await env.MODELS.put("analyses-test/page.html", "<!doctype html><title>not a model</title>");
    const response = await postJson("/v1/analyses", { source: { r2_key: "analyses-test/page.html" } });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: { code: "bad_model_format", message: "r2://analyses-test/page.html: not a model file alphawatch can read (it is an HTML page)" },
    });
    const row = await env.DB.prepare("SELECT status, error_code FROM analyses WHERE source = ?").bind("r2:analyses-test/page.html").first();
    expect(row).toEqual({ status: "failed", error_code: "bad_model_format" });
  });

  it("413 for a source above MAX_SOURCE_BYTES", async () => {
    const response = await postJson("/v1/analyses", { source: { r2_key: EXAMPLE_KEY } }, { MAX_SOURCE_BYTES: "1000" });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("source_too_large");
  });

  it("400 for URLs outside the policy: plain http, loopback, private addresses", async () => {
    for (const url of ["http://example.com/m.safetensors", "https://127.0.0.1/m", "https://10.1.2.3/m", "https://[::1]/m", "https://localhost/m"]) {
      const response = await postJson("/v1/analyses", { source: { url } });
      expect(response.status, url).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("bad_url");
    }
  });
});

describe("known values through the API", () => {
  it("norm is the sum of squared weights; analysis is done inline", async () => {
    const w = randomValues(7, 64 * 32);
    await env.MODELS.put("analyses-test/tiny.safetensors", safetensorsBytes([{ name: "dense.weight", shape: [64, 32], values: w }]));
    const view = (await (await postJson("/v1/analyses", { source: { r2_key: "analyses-test/tiny.safetensors" } })).json()) as AnalysisView;
    const layer = view.report!.layers[0]!;
    expect(layer.N).toBe(64);
    expect(layer.M).toBe(32);
    expect(layer.num_evals).toBe(32);
    expect(layer.norm).toBeCloseTo(sumOfSquares(w), 8);
  });
});
