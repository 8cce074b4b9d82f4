import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkObjectKey, parseRegistryKey } from "../src/sources/object-keys.js";
import { call } from "./helpers.js";

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);

describe("PUT /v1/objects/{key}", () => {
  it("streams the body into R2 under a key with slashes", async () => {
    const body = bytes(3000);
    const response = await call("/v1/objects/objects-test/a/b/model.bin", { method: "PUT", body, headers: { "content-length": "3000" } });
    expect(response.status).toBe(201);
    const stored = (await response.json()) as { key: string; size: number; etag: string };
    expect(stored.key).toBe("objects-test/a/b/model.bin");
    expect(stored.size).toBe(3000);
    const object = await env.MODELS.get("objects-test/a/b/model.bin");
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(body);
    expect(object!.etag).toBe(stored.etag);
  });

  it.each([
    ["objects-test//double", "has an empty path segment"],
    ["objects-test/../escape", 'has a ".." path segment'],
    ["objects-test/./here", 'has a "." path segment'],
    ["objects-test/trailing/", "has an empty path segment"],
  ])("refuses the key %s", async (key, problem) => {
    // Encoded, because URL parsing would resolve a literal `..` before the request is sent.
    const response = await call(`/v1/objects/${encodeURIComponent(key)}`, { method: "PUT", body: "x", headers: { "content-length": "1" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: "bad_key", message: `object key ${JSON.stringify(key)} ${problem}` } });
  });

  it("uploads in parts: start, one part, complete", async () => {
    const key = "objects-test/multi/model.bin";
    const started = await call(`/v1/objects/${key}?uploads`, { method: "POST" });
    expect(started.status).toBe(200);
    const { uploadId } = (await started.json()) as { uploadId: string };
    const body = bytes(1234);
    const part = await call(`/v1/objects/${key}?uploadId=${encodeURIComponent(uploadId)}&partNumber=1`, {
      method: "PUT", body, headers: { "content-length": "1234" },
    });
    expect(part.status).toBe(200);
    const { etag } = (await part.json()) as { etag: string };
    const done = await call(`/v1/objects/${key}?uploadId=${encodeURIComponent(uploadId)}`, {
      method: "POST", body: JSON.stringify({ parts: [{ partNumber: 1, etag }] }), headers: { "content-type": "application/json" },
    });
    expect(done.status).toBe(201);
    expect(((await done.json()) as { size: number }).size).toBe(1234);
    expect(new Uint8Array(await (await env.MODELS.get(key))!.arrayBuffer())).toEqual(body);
  });
});

describe("GET /v1/objects", () => {
  it("lists under a prefix", async () => {
    await env.MODELS.put("list-test/x/one.bin", bytes(10));
    await env.MODELS.put("list-test/x/two.bin", bytes(20));
    await env.MODELS.put("list-test/y/three.bin", bytes(30));
    const response = await call("/v1/objects?prefix=list-test/x/");
    expect(response.status).toBe(200);
    const listing = (await response.json()) as { objects: Array<{ key: string; size: number }>; cursor: string | null };
    expect(listing.objects.map((o) => [o.key, o.size])).toEqual([
      ["list-test/x/one.bin", 10],
      ["list-test/x/two.bin", 20],
    ]);
    expect(listing.cursor).toBeNull();
  });

  it("refuses a prefix with a .. segment", async () => {
    const response = await call("/v1/objects?prefix=list-test/../");
    expect(response.status).toBe(400);
  });
});

describe("key rules", () => {
  it("accepts clean keys and parses registry keys", () => {
    expect(checkObjectKey("models/mlp/v1/model.safetensors")).toBe("models/mlp/v1/model.safetensors");
    expect(parseRegistryKey("models/", "models/mlp/v1/sub/model.safetensors")).toEqual({ model: "mlp", version: "v1", file: "sub/model.safetensors" });
    expect(parseRegistryKey("models/", "models/mlp/model.safetensors")).toBeUndefined();
    expect(parseRegistryKey("models/", "other/mlp/v1/model.safetensors")).toBeUndefined();
  });
});
