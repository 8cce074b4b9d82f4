/**
 * Non-finite metrics survive the API: weightwatcher's log_alpha_norm of a failed fit on a layer
 * with zero eigenvalues is +∞ (compat ww), written as "Infinity" like the CLI's JSON, stored and
 * served again unchanged.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AnalysisView } from "../src/routes/analyses.js";
import { call, postJson, safetensorsBytes } from "./helpers.js";

/** A 20 x 20 layer with a single non-zero weight: one eigenvalue, nineteen zeros, no power-law fit. */
function singleWeightModel(): Uint8Array {
  const values = new Float32Array(400);
  values[0] = 0.5;
  return safetensorsBytes([{ name: "fc.weight", shape: [20, 20], values }]);
}

describe("non-finite numbers through the API", () => {
  it("serves log_alpha_norm = +Infinity as \"Infinity\", inline and when read back", async () => {
    await env.MODELS.put("non-finite/model.safetensors", singleWeightModel());
    const response = await postJson("/v1/analyses", { source: { r2_key: "non-finite/model.safetensors" }, options: { compat: "ww" } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const view = JSON.parse(text) as AnalysisView;
    const layer = view.report!.layers[0]! as unknown as Record<string, unknown>;
    expect(layer["status"]).toBe("failed");
    expect(layer["alpha"]).toBe(-1);
    expect(layer["log_alpha_norm"]).toBe("Infinity");
    const again = await call(`/v1/analyses/${view.id}`);
    const stored = (await again.json()) as AnalysisView;
    expect((stored.report!.layers[0]! as unknown as Record<string, unknown>)["log_alpha_norm"]).toBe("Infinity");
  });
});
