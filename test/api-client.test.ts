/**
 * The Worker API client against a scripted loopback server: the multipart upload as the API
 * defines it (and its abort), polling, and the typed errors for what the API can answer.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ApiClient, apiBaseUrl, encodeObjectKey, r2KeyOf, type AnalysisView } from "../cli/api-client.js";
import { FormatError, SourceError, UsageError } from "../core/errors.js";
import { objectKeyFor } from "../cli/commands/upload.js";

interface Seen {
  method: string;
  url: string;
  length: number;
  sha256: string;
  authorization: string | undefined;
  body: string;
}

type Handler = (request: Seen, response: ServerResponse) => void;

let server: Server | undefined;
const tmp = mkdtempSync(path.join(os.tmpdir(), "alphawatch-api-client-"));

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A server that records every request (with a digest of its body) and answers through `handler`. */
async function serve(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const entry: Seen = {
        method: request.method ?? "",
        url: request.url ?? "",
        length: body.length,
        sha256: createHash("sha256").update(body).digest("hex"),
        authorization: request.headers.authorization,
        body: body.length < 10_000 ? body.toString("utf8") : "",
      };
      seen.push(entry);
      handler(entry, response);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, seen };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const MIB = 1024 * 1024;

function fileOf(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
  const file = path.join(tmp, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("upload", () => {
  it("sends a file above the part size as a multipart upload, part by part", async () => {
    const { file, bytes } = fileOf("big.bin", 11 * MIB + 123);
    const { url, seen } = await serve((request, response) => {
      if (request.method === "POST" && request.url.endsWith("?uploads")) return json(response, 200, { key: "models/a b/v1/m.bin", uploadId: "up/1" });
      if (request.method === "PUT") return json(response, 200, { partNumber: Number(/partNumber=(\d+)/.exec(request.url)![1]), etag: `e${request.length}` });
      return json(response, 201, { key: "models/a b/v1/m.bin", size: bytes.length, etag: "abc-3", uploaded: "2026-01-01T00:00:00.000Z" });
    });
    const progress: number[] = [];
    const stored = await new ApiClient({ baseUrl: `${url}/`, apiKey: "k" }).upload(file, "models/a b/v1/m.bin", {
      partSize: 5 * MIB,
      onProgress: (sent) => progress.push(sent),
    });
    expect(stored.etag).toBe("abc-3");
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      "POST /v1/objects/models/a%20b/v1/m.bin?uploads",
      "PUT /v1/objects/models/a%20b/v1/m.bin?uploadId=up%2F1&partNumber=1",
      "PUT /v1/objects/models/a%20b/v1/m.bin?uploadId=up%2F1&partNumber=2",
      "PUT /v1/objects/models/a%20b/v1/m.bin?uploadId=up%2F1&partNumber=3",
      "POST /v1/objects/models/a%20b/v1/m.bin?uploadId=up%2F1",
    ]);
    expect(seen.every((request) => request.authorization === "Bearer k")).toBe(true);
    expect(seen.slice(1, 4).map((request) => request.sha256)).toEqual([
      sha(bytes.subarray(0, 5 * MIB)),
      sha(bytes.subarray(5 * MIB, 10 * MIB)),
      sha(bytes.subarray(10 * MIB)),
    ]);
    expect(JSON.parse(seen[4]!.body)).toEqual({
      parts: [
        { partNumber: 1, etag: `e${5 * MIB}` },
        { partNumber: 2, etag: `e${5 * MIB}` },
        { partNumber: 3, etag: `e${MIB + 123}` },
      ],
    });
    expect(progress).toEqual([5 * MIB, 10 * MIB, 11 * MIB + 123]);
  });

  it("sends a small file in one streamed PUT", async () => {
    const { file, bytes } = fileOf("small.bin", 70_001);
    const { url, seen } = await serve((_request, response) => json(response, 201, { key: "k/x", size: 70_001, etag: "e", uploaded: "t" }));
    await new ApiClient({ baseUrl: url, apiKey: "k" }).upload(file, "k/x");
    expect(seen.map((request) => [request.method, request.url, request.length, request.sha256])).toEqual([["PUT", "/v1/objects/k/x", 70_001, sha(bytes)]]);
  });

  it("aborts the multipart upload when a part fails, and names the part", async () => {
    const { file } = fileOf("fails.bin", 6 * MIB);
    const { url, seen } = await serve((request, response) => {
      if (request.method === "POST") return json(response, 200, { key: "k/y", uploadId: "u2" });
      if (request.method === "PUT") return json(response, 500, { error: { code: "internal_error", message: "internal error" } });
      response.writeHead(204).end();
    });
    const upload = new ApiClient({ baseUrl: url, apiKey: "k" }).upload(file, "k/y", { partSize: 5 * MIB });
    await expect(upload).rejects.toThrow(SourceError);
    await expect(upload).rejects.toThrow(`${file} → r2://k/y (part 1 of 2): internal error (HTTP 500 internal_error)`);
    expect(seen.map((request) => request.method)).toEqual(["POST", "PUT", "DELETE"]);
    expect(seen[2]!.url).toBe("/v1/objects/k/y?uploadId=u2");
  });

  it("refuses a part size R2 cannot take and a missing file", async () => {
    const client = new ApiClient({ baseUrl: "http://127.0.0.1:9", apiKey: "k" });
    await expect(client.upload("x", "k", { partSize: MIB })).rejects.toThrow(new UsageError("--part-size must be between 5 and 95 MiB, got 1 MiB"));
    await expect(client.upload(path.join(tmp, "absent.bin"), "k")).rejects.toThrow(new SourceError(`${path.join(tmp, "absent.bin")}: cannot read file (ENOENT)`));
  });
});

const running = (done: number): AnalysisView => ({
  id: "a1",
  status: "running",
  source: "r2:m/k",
  progress: { layers_done: done, layers_total: 3 },
  summary: null,
  error: null,
});

describe("analyze", () => {
  it("polls a 202 analysis until it is done and returns its report", async () => {
    let polls = 0;
    const { url, seen } = await serve((request, response) => {
      if (request.method === "POST") return json(response, 202, { ...running(0), deduplicated: false });
      polls++;
      if (polls < 3) return json(response, 200, running(polls));
      return json(response, 200, { ...running(3), status: "done", summary: { alpha: 3.5 }, report: { layers: [], summary: { alpha: 3.5 } } });
    });
    const seenProgress: number[] = [];
    const view = await new ApiClient({ baseUrl: url, apiKey: "k", pollIntervalMs: 5 }).analyze("m/k", { min_evals: 5 }, (progress) =>
      seenProgress.push(progress.progress.layers_done),
    );
    expect(view.status).toBe("done");
    expect(view.report.summary.alpha).toBe(3.5);
    expect(seenProgress).toEqual([0, 1, 2]);
    expect(JSON.parse(seen[0]!.body)).toEqual({ source: { r2_key: "m/k" }, options: { min_evals: 5 } });
    expect(seen.slice(1).map((request) => `${request.method} ${request.url}`)).toEqual(Array(3).fill("GET /v1/analyses/a1"));
  });

  it("turns a failed analysis into the error of its code", async () => {
    const { url } = await serve((_request, response) =>
      json(response, 202, { ...running(0), status: "failed", error: { code: "bad_model_format", message: "r2://m/k: not safetensors" } }),
    );
    const analysis = new ApiClient({ baseUrl: url, apiKey: "k" }).analyze("m/k", {});
    await expect(analysis).rejects.toThrow(FormatError);
    await expect(analysis).rejects.toThrow("r2://m/k: analysis a1 failed: r2://m/k: not safetensors (bad_model_format)");
  });

  it("gives up after the timeout, saying how far the analysis got", async () => {
    const { url } = await serve((_request, response) => json(response, 202, running(1)));
    const client = new ApiClient({ baseUrl: url, apiKey: "k", pollIntervalMs: 5, maxPollIntervalMs: 5, timeoutMs: 40 });
    await expect(client.analyze("m/k", {})).rejects.toThrow(new SourceError("r2://m/k: analysis a1 not done after 0 s (1/3 layers)"));
  });

  it("maps refusals, bad requests and non-JSON answers to typed errors", async () => {
    const answers: Array<[number, string]> = [
      [403, JSON.stringify({ error: { code: "forbidden", message: "API key not accepted" } })],
      [400, JSON.stringify({ error: { code: "bad_request", message: "json.options.bogus: unrecognized" } })],
      [502, "<html>Bad gateway</html>"],
    ];
    const { url } = await serve((_request, response) => {
      const [status, body] = answers.shift()!;
      response.writeHead(status, { "content-type": "text/plain" }).end(body);
    });
    const client = new ApiClient({ baseUrl: url, apiKey: "k" });
    await expect(client.analyze("m/k", {})).rejects.toThrow(new UsageError("r2://m/k: the API refused the key: API key not accepted (HTTP 403 forbidden)"));
    await expect(client.analyze("m/k", {})).rejects.toThrow(new UsageError("r2://m/k: json.options.bogus: unrecognized (HTTP 400 bad_request)"));
    await expect(client.analyze("m/k", {})).rejects.toThrow(new SourceError("r2://m/k: <html>Bad gateway</html> (HTTP 502 http_error)"));
  });

  it("says which API it cannot reach", async () => {
    const { url } = await serve(() => {});
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await expect(new ApiClient({ baseUrl: url, apiKey: "k" }).analyze("m/k", {})).rejects.toThrow(
      new RegExp(`^r2://m/k: cannot reach the API at ${url.replace(/\./g, "\\.")} \\(.*ECONNREFUSED.*\\)$`),
    );
  });
});

describe("arguments", () => {
  it("reads r2:// targets, API origins and object keys", () => {
    expect(r2KeyOf("r2://models/m/v1/x.safetensors")).toBe("models/m/v1/x.safetensors");
    expect(() => r2KeyOf("models/m")).toThrow(new UsageError("models/m: with --api the model must be an object of the API's bucket, written r2://KEY"));
    expect(() => r2KeyOf("r2://")).toThrow(UsageError);
    expect(apiBaseUrl("http://127.0.0.1:8787/")).toBe("http://127.0.0.1:8787");
    expect(() => apiBaseUrl("ftp://host")).toThrow(new UsageError('--api: must be an http(s) URL, got "ftp://host"'));
    expect(() => apiBaseUrl("not a url")).toThrow(new UsageError('--api: not a URL: "not a url"'));
    expect(() => new ApiClient({ baseUrl: "http://h", apiKey: " " })).toThrow(new UsageError("--api-key (or ALPHAWATCH_API_KEY) is empty"));
    expect(encodeObjectKey("models/a b/v#1/m?.bin")).toBe("models/a%20b/v%231/m%3F.bin");
    expect(objectKeyFor("/data/run 3/model.safetensors", "models/m/v3/")).toBe("models/m/v3/model.safetensors");
    expect(objectKeyFor("/data/model.safetensors", "models/m/v3/weights.safetensors")).toBe("models/m/v3/weights.safetensors");
  });
});
