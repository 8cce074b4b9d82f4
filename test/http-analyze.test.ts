/**
 * `alphawatch analyze URL` reads over HTTP range requests: analyzing one layer of a large file
 * downloads the header and that layer, not the file (a local server counts the bytes it serves).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { analyzeModel } from "./model-analysis.js";
import { lcgCentered } from "./seeded-random.js";

const BIG_ROWS = 4096;
const BIG_COLS = 4096;

function writeModel(file: string): void {
  const tensors: Array<[string, number[]]> = [["head.weight", [64, 256]], ["big1.weight", [BIG_ROWS, BIG_COLS]], ["big2.weight", [BIG_ROWS, BIG_COLS]]];
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, shape] of tensors) {
    const bytes = shape[0]! * shape[1]! * 4;
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  const fd = openSync(file, "w");
  writeSync(fd, prefix);
  writeSync(fd, headerBytes);
  const chunk = new Float32Array(1 << 20);
  const next = lcgCentered(12345);
  for (let written = 0; written < offset / 4; written += chunk.length) {
    const count = Math.min(chunk.length, offset / 4 - written);
    for (let i = 0; i < count; i++) chunk[i] = next();
    writeSync(fd, new Uint8Array(chunk.buffer, 0, count * 4));
  }
  closeSync(fd);
}

describe("analyze over HTTP range requests", () => {
  let dir = "";
  let file = "";
  let server: Server;
  let servedBytes = 0;
  let url = "";

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "aw-http-"));
    file = path.join(dir, "model.safetensors");
    writeModel(file);
    const size = statSync(file).size;
    server = createServer((request, response) => {
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
      const headers = { "Accept-Ranges": "bytes", ETag: '"model-v1"' };
      if (request.method === "HEAD") {
        response.writeHead(200, { ...headers, "Content-Length": String(size) }).end();
        return;
      }
      if (range === null) {
        response.writeHead(416, headers).end();
        return;
      }
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), size - 1);
      const body = Buffer.alloc(end - start + 1);
      const fd = openSync(file, "r");
      readSync(fd, body, 0, body.length, start);
      closeSync(fd);
      servedBytes += body.length;
      response.writeHead(206, { ...headers, "Content-Length": String(body.length), "Content-Range": `bytes ${start}-${end}/${size}` }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("downloads only the header and the selected layer of a 134 MB file", async () => {
    const size = statSync(file).size;
    servedBytes = 0;
    const remote = await analyzeModel(url, { layers: ["head"] });
    const local = await analyzeModel(file, { layers: ["head"] });
    expect(remote.layers.map((l) => l.name)).toEqual(["head"]);
    expect(remote.layers[0]!.alpha).toBe(local.layers[0]!.alpha);
    expect(remote.layers[0]!.lambda_max).toBe(local.layers[0]!.lambda_max);
    expect(remote.source.etag).toBe('"model-v1"');
    expect(remote.source.sha256).toBeUndefined();
    expect(servedBytes).toBeLessThan(0.05 * size);
    expect(remote.skipped.map((s) => [s.name, s.reason.includes("excluded by the layers option")])).toEqual([["big1.weight", true], ["big2.weight", true]]);
  });
});
