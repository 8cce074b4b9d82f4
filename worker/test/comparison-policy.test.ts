import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Comparison } from "../../core/compare/index.js";
import { postJson, twoLayerModel } from "./helpers.js";

// The same weights, and the same weights scaled by 0.05: every spectral norm drops by
// log10(1/0.05²) ≈ 2.6, a scale collapse (a `fail` under the default policy); alpha does not move.
const BASE_KEY = "comparison-policy/net/base/model.safetensors";
const HEAD_KEY = "comparison-policy/net/head/model.safetensors";

interface ErrorResponse {
  error: { code: string; message: string };
}

describe("POST /v1/comparisons with a policy", () => {
  beforeAll(async () => {
    await env.MODELS.put(BASE_KEY, twoLayerModel(401));
    await env.MODELS.put(HEAD_KEY, twoLayerModel(401, 0.05));
  });

  const sides = { base: { r2_key: BASE_KEY }, head: { r2_key: HEAD_KEY } };

  it("uses the default policy without one", async () => {
    const response = await postJson("/v1/comparisons", sides);
    expect(response.status).toBe(200);
    const comparison = (await response.json()) as Comparison;
    expect(comparison.verdict).toBe("fail");
    expect(comparison.policy.scale_collapse).toEqual({ enabled: true, warn_drop: 0.5, fail_drop: 1 });
  });

  it("applies the overrides of the body, keeping the defaults elsewhere", async () => {
    const response = await postJson("/v1/comparisons", { ...sides, policy: { scale_collapse: { enabled: false }, min_evals: 10 } });
    expect(response.status).toBe(200);
    const comparison = (await response.json()) as Comparison;
    expect(comparison.verdict).toBe("pass");
    expect(comparison.policy.scale_collapse).toEqual({ enabled: false, warn_drop: 0.5, fail_drop: 1 });
    expect(comparison.policy.min_evals).toBe(10);
    expect(comparison.policy.alpha_range).toEqual({ enabled: true, low: 2, high: 6, above: "fail", below: "warn" });
  });

  it("refuses unknown fields and wrong types with 400, naming the field", async () => {
    const unknown = await postJson("/v1/comparisons", { ...sides, policy: { alpha_rise: { fail: { k_sigmas: 3 } } } });
    expect(unknown.status).toBe(400);
    const unknownBody = (await unknown.json()) as ErrorResponse;
    expect(unknownBody.error.code).toBe("bad_request");
    expect(unknownBody.error.message).toContain("json.policy.alpha_rise.fail");
    expect(unknownBody.error.message).toContain("k_sigmas");

    const wrongType = await postJson("/v1/comparisons", { ...sides, policy: { fit_failed: { severity: "fatal" } } });
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as ErrorResponse).error.message).toContain("json.policy.fit_failed.severity");

    const negative = await postJson("/v1/comparisons", { ...sides, policy: { min_evals: -1 } });
    expect(negative.status).toBe(400);
    expect(((await negative.json()) as ErrorResponse).error.message).toContain("json.policy.min_evals");
  });

  it("refuses a policy whose range is empty with 400 and core's message", async () => {
    const response = await postJson("/v1/comparisons", { ...sides, policy: { alpha_range: { low: 5, high: 3 } } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "bad_request", message: "policy: alpha_range.low (5) must be below alpha_range.high (3)" },
    });
  });
});
