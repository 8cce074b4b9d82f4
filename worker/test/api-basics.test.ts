import { describe, expect, it } from "vitest";
import { acceptedKeyDigests, constantTimeEqual, isAcceptedKey, sha256Hex } from "../src/http/auth.js";
import { call, postJson } from "./helpers.js";

describe("open routes", () => {
  it("GET /health answers without a key", async () => {
    const response = await call("/health", { auth: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", version: "0.1.0" });
  });

  it("GET /openapi.json documents every route, with plain path parameters", async () => {
    const response = await call("/openapi.json", { auth: null });
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { securitySchemes: unknown } };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths).sort()).toEqual([
      "/v1/analyses",
      "/v1/analyses/{id}",
      "/v1/analyses/{id}/layers/{name}/esd.svg",
      "/v1/comparisons",
      "/v1/models/{name}/badge.svg",
      "/v1/models/{name}/history",
      "/v1/objects",
      "/v1/objects/{key}",
      "/v1/series",
      "/v1/series/{id}",
    ]);
    expect(Object.keys(document.paths["/v1/objects/{key}"]!).sort()).toEqual(["delete", "post", "put"]);
    expect(document.components.securitySchemes).toEqual({ bearerAuth: { type: "http", scheme: "bearer" } });
  });
});

describe("authentication", () => {
  it("401 without an Authorization header, as a JSON error", async () => {
    const response = await call("/v1/objects", { auth: null });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { code: "unauthorized", message: "missing Authorization header: send `Authorization: Bearer <API key>`" },
    });
  });

  it("401 for a header that is not a bearer key", async () => {
    const response = await call("/v1/objects", { auth: null, headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("403 for a key that is not accepted", async () => {
    const response = await call("/v1/objects", { auth: "test-key-3" });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { code: "forbidden", message: "the API key is not accepted" } });
  });

  it("accepts each plain key and a key stored only as its digest", async () => {
    for (const key of ["test-key-1", "test-key-2", "digest-key"]) {
      expect((await call("/v1/objects", { auth: key })).status).toBe(200);
    }
  });

  it("stores keys as SHA-256 digests and compares all of them", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const digests = await acceptedKeyDigests({ API_KEYS: " one , two ", API_KEY_HASHES: "" } as never);
    expect(digests).toHaveLength(2);
    expect(await isAcceptedKey("two", digests)).toBe(true);
    expect(await isAcceptedKey("three", digests)).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it("refuses a malformed stored digest with a configuration error, not a crash page", async () => {
    await expect(acceptedKeyDigests({ API_KEY_HASHES: "not-hex" } as never)).rejects.toThrow(
      "configuration: API_KEY_HASHES must hold 64-digit SHA-256 hex digests",
    );
    const response = await call("/v1/objects", { overrides: { API_KEY_HASHES: "not-hex" } });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: "internal_error", message: "internal error" } });
  });
});

describe("errors are JSON", () => {
  it("404 for an unknown route", async () => {
    const response = await call("/nowhere", { auth: null });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "not_found", message: "no route for GET /nowhere" } });
  });

  it("400 naming the field of an invalid body", async () => {
    const response = await postJson("/v1/analyses", { source: { r2_key: "m.safetensors" }, options: { min_evals: "ten" } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("bad_request");
    expect(body.error.message).toMatch(/^json\.options\.min_evals: /);
  });

  it("400 for an unknown option and for a source that is neither a key nor a URL", async () => {
    const unknown = await postJson("/v1/analyses", { source: { r2_key: "m.safetensors" }, options: { vectors: true } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain("json.options");
    const neither = await postJson("/v1/analyses", { source: { path: "/etc/passwd" } });
    expect(neither.status).toBe(400);
  });

  it("400 for options core refuses (min_evals above max_evals), with core's message", async () => {
    const response = await postJson("/v1/analyses", { source: { r2_key: "m.safetensors" }, options: { min_evals: 100, max_evals: 50 } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: "bad_request", message: "option min_evals: 100 is above max_evals 50; no layer could be analyzed" },
    });
  });
});
