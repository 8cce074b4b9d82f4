import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnalysisView } from "../src/routes/analyses.js";
import { postJson, twoLayerModel } from "./helpers.js";

const MODEL = twoLayerModel(81);

/** A range-serving HTTPS host, answered in the test (the Worker's outbound fetch is global). */
function serveModel(): void {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url === "https://models.example.test/old.safetensors") {
      return new Response(null, { status: 302, headers: { location: "https://models.example.test/model.safetensors" } });
    }
    if (request.url === "https://models.example.test/sneaky.safetensors") {
      return new Response(null, { status: 302, headers: { location: "https://10.0.0.5/model.safetensors" } });
    }
    if (request.url !== "https://models.example.test/model.safetensors") return realFetch(input, init);
    const headers = { etag: '"model-v1"', "accept-ranges": "bytes", "content-type": "application/octet-stream" };
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range") ?? "");
    if (request.method === "HEAD") return new Response(null, { headers: { ...headers, "content-length": String(MODEL.length) } });
    if (range === null) return new Response(MODEL, { headers });
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), MODEL.length - 1);
    return new Response(MODEL.slice(start, end + 1), {
      status: 206,
      headers: { ...headers, "content-range": `bytes ${start}-${end}/${MODEL.length}` },
    });
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("URL sources", () => {
  it("analyzes a model read with range requests, following a redirect to an allowed host", async () => {
    serveModel();
    const response = await postJson("/v1/analyses", { source: { url: "https://models.example.test/old.safetensors" } });
    expect(response.status).toBe(200);
    const view = (await response.json()) as AnalysisView;
    expect(view.report!.source.path).toBe("https://models.example.test/old.safetensors");
    expect(view.report!.layers.map((l) => [l.name, l.N, l.M])).toEqual([["fc1", 128, 64], ["fc2", 96, 64]]);
  });

  it("refuses a redirect into a private network", async () => {
    serveModel();
    const response = await postJson("/v1/analyses", { source: { url: "https://models.example.test/sneaky.safetensors" } });
    // core's httpSource reports the refused hop as an unreadable source.
    expect(response.status).toBe(502);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("source_unreadable");
    expect(error.message).toContain("https://10.0.0.5/model.safetensors: loopback, private and internal hosts are not reachable from the API");
  });
});
