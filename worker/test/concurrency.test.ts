import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { analyze } from "../../core/analyze.js";
import { bytesSource } from "../../core/formats/byte-source.js";
import { spectralKernel } from "../src/kernel.js";
import type { AnalysisView } from "../src/routes/analyses.js";
import { postJson, twoLayerModel } from "./helpers.js";

// The isolate has one kernel, which holds one Gram at a time; requests that run at once in the
// same isolate must take turns on it (found by the load test, bench/worker-load.ts).
describe("concurrent analyses in one isolate", () => {
  it("give every model its own numbers", async () => {
    const seeds = [501, 502, 503, 504, 505, 506];
    const models = seeds.map((seed) => twoLayerModel(seed));
    await Promise.all(models.map((bytes, i) => env.MODELS.put(`concurrency/m${i}/model.safetensors`, bytes)));
    const responses = await Promise.all(models.map((_, i) => postJson("/v1/analyses", { source: { r2_key: `concurrency/m${i}/model.safetensors` } })));
    expect(responses.map((response) => response.status)).toEqual(seeds.map(() => 200));
    const views = (await Promise.all(responses.map((response) => response.json()))) as AnalysisView[];
    const kernel = await spectralKernel();
    for (const [i, bytes] of models.entries()) {
      const local = await analyze(bytesSource(bytes, "local"), {}, { kernel });
      expect(views[i]!.report!.layers.map((layer) => [layer.name, layer.alpha, layer.lambda_max])).toEqual(
        local.layers.map((layer) => [layer.name, layer.alpha, layer.lambda_max]),
      );
    }
  });
});
