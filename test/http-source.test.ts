import { createReadStream, mkdtempSync, openSync, closeSync, readSync, writeSync, ftruncateSync, rmSync, statSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSource } from "../core/formats/http-source.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { readGguf } from "../core/formats/gguf.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { SourceError, UsageError } from "../core/errors.js";
import { elementCount } from "../core/formats/tensor.js";
import { hasShared, requireShared, sharedDir } from "./shared.js";

/**
 * A local file server with Range support and switchable misbehaviour, chosen by the first path
 * segment: /files (normal), /norange (ignores Range), /nohead (refuses HEAD), /truncate (drops the
 * connection half-way), /short (a 206 shorter than asked), /badrange (answers another range),
 * /etagflip (a new ETag per response), /hang (never answers). The second segment picks the root:
 * /shared (../shared) or /tmp (a temp dir of the test).
 */
interface Served {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

class TestServer {
  bytesServed = 0;
  requests: Served[] = [];
  private etagCounter = 0;
  private server: Server;
  baseUrl = "";

  constructor(private readonly roots: Record<string, string>) {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.bytesServed = 0;
    this.requests = [];
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://localhost");
    const [, mode, root, ...rest] = decodeURIComponent(url.pathname).split("/");
    this.requests.push({ method: request.method ?? "", path: url.pathname, range: request.headers.range, authorization: request.headers.authorization });
    if (mode === "hang") return;
    const base = this.roots[root ?? ""];
    const file = base === undefined ? undefined : path.join(base, ...rest);
    let size: number;
    try {
      if (file === undefined || !file.startsWith(base!)) throw new Error("outside");
      size = statSync(file).size;
    } catch {
      response.writeHead(404, "Not Found").end();
      return;
    }
    const etag = mode === "etagflip" ? `"v${this.etagCounter++}"` : `"${size}"`;
    if (request.method === "HEAD") {
      if (mode === "nohead") response.writeHead(405, "Method Not Allowed").end();
      else response.writeHead(200, { "content-length": String(size), "accept-ranges": "bytes", etag }).end();
      return;
    }
    const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? "");
    if (match === null || mode === "norange") {
      response.writeHead(200, { "content-length": String(size), etag });
      this.stream(file!, 0, size - 1, response);
      return;
    }
    const start = Number(match[1]);
    const end = Math.min(Number(match[2]), size - 1);
    if (start >= size) {
      response.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return;
    }
    const length = end - start + 1;
    if (mode === "short") {
      const half = Math.floor(length / 2);
      response.writeHead(206, { "content-length": String(half), "content-range": `bytes ${start}-${end}/${size}`, etag });
      this.stream(file!, start, start + half - 1, response);
      return;
    }
    if (mode === "badrange") {
      response.writeHead(206, { "content-length": String(length), "content-range": `bytes ${start + 1}-${end + 1}/${size}`, etag });
      this.stream(file!, start, end, response);
      return;
    }
    response.writeHead(206, { "content-length": String(length), "content-range": `bytes ${start}-${end}/${size}`, etag });
    if (mode === "truncate") {
      const half = Math.floor(length / 2);
      const bytes = new Uint8Array(half);
      const fd = openSync(file!, "r");
      readSync(fd, bytes, 0, half, start);
      closeSync(fd);
      this.bytesServed += bytes.byteLength;
      response.write(bytes, () => response.destroy());
      return;
    }
    this.stream(file!, start, end, response);
  }

  private stream(file: string, start: number, end: number, response: ServerResponse): void {
    if (end < start) {
      response.end();
      return;
    }
    const stream = createReadStream(file, { start, end });
    stream.on("data", (chunk) => {
      this.bytesServed += chunk.length;
    });
    response.on("close", () => stream.destroy());
    stream.pipe(response);
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "alphawatch-http-"));
const server = new TestServer({ shared: sharedDir, tmp });
const ROWS = 4096;
const COLS = 4096;
let bigFileSize = 0;

/** A >100 MB safetensors with two F32 [4096, 4096] tensors; only the first 16 rows of "a" hold data (the rest is a sparse hole). */
function writeBigSafetensors(file: string): number {
  const tensorBytes = ROWS * COLS * 4;
  let header = JSON.stringify({
    a: { dtype: "F32", shape: [ROWS, COLS], data_offsets: [0, tensorBytes] },
    b: { dtype: "F32", shape: [ROWS, COLS], data_offsets: [tensorBytes, 2 * tensorBytes] },
  });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const prefix = new Uint8Array(8 + header.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
  prefix.set(new TextEncoder().encode(header), 8);
  const rows = new Float32Array(16 * COLS).map((_, i) => i * 0.25);
  const fd = openSync(file, "w");
  try {
    writeSync(fd, prefix);
    writeSync(fd, new Uint8Array(rows.buffer));
    ftruncateSync(fd, prefix.byteLength + 2 * tensorBytes);
  } finally {
    closeSync(fd);
  }
  return prefix.byteLength + 2 * tensorBytes;
}

beforeAll(async () => {
  bigFileSize = writeBigSafetensors(path.join(tmp, "big.safetensors"));
  await server.start();
});

afterAll(async () => {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const url = (mode: string, root: string, file: string) => `${server.baseUrl}/${mode}/${root}/${file}`;

describe("httpSource over a local range server", () => {
  it("reads the header and the first rows of a >100 MB safetensors while downloading < 5% of it", async () => {
    expect(bigFileSize).toBeGreaterThan(100_000_000);
    server.reset();
    const source = httpSource(url("files", "tmp", "big.safetensors"));
    const index = await readSafetensors(source);
    expect(index.tensors.map((t) => [t.name, t.shape])).toEqual([["a", [ROWS, COLS]], ["b", [ROWS, COLS]]]);
    const rows = await index.tensors[0]!.read(0, 3 * COLS);
    expect(rows[0]).toBe(0);
    expect(rows[1]).toBe(0.25);
    expect(rows[3 * COLS - 1]).toBe((3 * COLS - 1) * 0.25);
    // Per-row reads inside one cached block cost no further request.
    const before = server.requests.length;
    for (let r = 3; r < 16; r++) expect((await index.tensors[0]!.read(r * COLS, COLS))[5]).toBe((r * COLS + 5) * 0.25);
    expect(server.requests.length).toBe(before);
    expect(server.bytesServed).toBeLessThan(0.05 * bigFileSize);
    expect(source.etag).toBe(`"${bigFileSize}"`);
  });

  it("coalesces adjacent missing blocks into one request and serves repeats from the cache", async () => {
    const source = httpSource(url("files", "tmp", "big.safetensors"), { blockSize: 1024, maxCachedBlocks: 8 });
    await source.size();
    server.reset();
    const first = await source.read(8, 5000); // blocks 0-4: one request
    expect(server.requests.map((r) => r.range)).toEqual(["bytes=0-5119"]);
    expect(new DataView(first.buffer, first.byteOffset).getBigUint64(0, true)).toBeGreaterThan(0n);
    await source.read(100, 10);
    await source.read(2000, 900);
    expect(server.requests.length).toBe(1);
    await source.read(4000, 3000); // blocks 3-6: 3 and 4 cached, 5-6 in one request
    expect(server.requests.map((r) => r.range)).toEqual(["bytes=0-5119", "bytes=5120-7167"]);
    // Wider than the cache: fetched directly, exactly.
    await source.read(100_000, 20_000);
    expect(server.requests.at(-1)!.range).toBe("bytes=100000-119999");
    // Blocks 0-2 were evicted by the 8-block bound (LRU): reading them again costs a request.
    await source.read(0, 10);
    expect(server.requests.length).toBe(3);
    await source.read(6000, 10);
    expect(server.requests.length).toBe(3);
  });

  it("gets the size from the first ranged GET when HEAD is refused, and sends the caller's headers", async () => {
    server.reset();
    const calls: string[] = [];
    const source = httpSource(url("nohead", "tmp", "big.safetensors"), {
      headers: { authorization: "Bearer t0ken" },
      fetch: (input, init) => {
        calls.push(`${init?.method ?? "GET"} ${String(input)}`);
        return fetch(input, init);
      },
    });
    expect(await source.size()).toBe(bigFileSize);
    expect(server.requests.map((r) => [r.method, r.range, r.authorization])).toEqual([
      ["HEAD", undefined, "Bearer t0ken"],
      ["GET", "bytes=0-1048575", "Bearer t0ken"],
    ]);
    expect(calls.length).toBe(2);
    await source.read(10, 100); // block 0 came with the size
    expect(server.requests.length).toBe(2);
  });

  it("accepts a server without range support for a small file, in memory", async () => {
    const source = httpSource(url("norange", "tmp", "small.bin"));
    // small.bin is written below; a missing file is a 404 first.
    await expect(source.size()).rejects.toThrow(SourceError);
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    const fd = openSync(path.join(tmp, "small.bin"), "w");
    writeSync(fd, bytes);
    closeSync(fd);
    server.reset();
    expect(Array.from(await source.read(4990, 10))).toEqual(Array.from(bytes.subarray(4990)));
    expect(Array.from(await source.read(0, 3))).toEqual([0, 1, 2]);
    expect(server.requests.filter((r) => r.method === "GET").length).toBe(1);
  });

  it("sibling resolves relative URLs on the same origin only", async () => {
    const source = httpSource(url("files", "tmp", "big.safetensors"));
    const sibling = await source.sibling!("small.bin");
    expect(sibling?.name).toBe(`${server.baseUrl}/files/tmp/small.bin`);
    expect(await sibling!.size()).toBe(5000);
    expect(await source.sibling!("absent.bin")).toBeUndefined();
    await expect(source.sibling!("http://example.invalid/x.bin")).rejects.toThrow(
      new SourceError(`${server.baseUrl}/files/tmp/big.safetensors: refuses to open "http://example.invalid/x.bin" on another origin (http://example.invalid)`),
    );
  });

  it("refuses bad URLs and options as usage errors", () => {
    expect(() => httpSource("not a url")).toThrow(UsageError);
    expect(() => httpSource("file:///etc/passwd")).toThrow(UsageError);
    expect(() => httpSource("http://127.0.0.1/x", { blockSize: 0 })).toThrow(UsageError);
  });
});

describe("httpSource errors are SourceErrors naming the URL", () => {
  const rejects = async (promise: Promise<unknown>, pattern: RegExp) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as Error).message).toMatch(pattern);
  };

  it("404", async () => {
    const target = url("files", "tmp", "nothing.safetensors");
    await rejects(httpSource(target).size(), new RegExp(`^${target.replace(/[.]/g, "\\.")}: HTTP 404 Not Found for the file$`));
  });

  it("a server that ignores Range for a large file, without downloading it", async () => {
    server.reset();
    const source = httpSource(url("norange", "tmp", "big.safetensors"));
    await rejects(source.read(0, 8), /big\.safetensors: server does not support range requests/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.bytesServed).toBeLessThan(0.25 * bigFileSize);
  });

  it("a response cut off mid-body, a short 206, a wrong Content-Range", async () => {
    await rejects(httpSource(url("truncate", "tmp", "big.safetensors"), { blockSize: 65536 }).read(0, 8), /big\.safetensors: (request failed|response for bytes 0-65535 was truncated)/);
    await rejects(httpSource(url("short", "tmp", "big.safetensors"), { blockSize: 65536 }).read(0, 8), /big\.safetensors: response for bytes 0-65535 declares 32768 bytes, expected 65536/);
    await rejects(httpSource(url("badrange", "tmp", "big.safetensors"), { blockSize: 65536 }).read(0, 8), /big\.safetensors: server sent bytes 1-65536\/\d+ when asked for bytes 0-65535/);
  });

  it("a file that changes while being read", async () => {
    await rejects(httpSource(url("etagflip", "tmp", "big.safetensors")).read(0, 8), /the file changed on the server while it was being read \(ETag "v\d+" became "v\d+"\)/);
  });

  it("a request that hangs times out", async () => {
    await rejects(httpSource(url("hang", "tmp", "big.safetensors"), { timeoutMs: 300 }).size(), /big\.safetensors: request timed out after 300 ms$/);
  });

  it("a refused connection", async () => {
    const closed = new TestServer({});
    await closed.start();
    const target = closed.baseUrl;
    await closed.stop();
    await rejects(httpSource(`${target}/files/tmp/x`).size(), /request failed/);
  });
});

describe.skipIf(!requireShared("httpSource reads of shared GGUF files"))("httpSource with the GGUF reader", () => {
  it("reads stories260K.Q8_0.gguf over HTTP with tiny blocks exactly as from memory", async () => {
    const relative = "models/real/llama2c-stories260K/stories260K.Q8_0.gguf";
    const local = await readGguf(bytesSource(new Uint8Array(readFileSync(path.join(sharedDir, relative)))));
    const remote = await readGguf(httpSource(url("files", "shared", relative), { blockSize: 4096, maxCachedBlocks: 4 }));
    expect(remote.metadata).toEqual(local.metadata);
    expect(remote.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(local.tensors.map((t) => [t.name, t.dtype, t.shape]));
    for (const [i, tensor] of remote.tensors.entries()) {
      const n = elementCount(tensor.shape);
      const [a, b] = await Promise.all([tensor.read(0, n), local.tensors[i]!.read(0, n)]);
      expect(Array.from(a), tensor.name).toEqual(Array.from(b));
    }
  });

  it("reads a small GGUF from a server without range support", async () => {
    const relative = "models/series/formats/gguf/mlp.Q4_0.gguf";
    const index = await readGguf(httpSource(url("norange", "shared", relative)));
    expect(index.tensors[0]!.dtype).toBe("Q4_0");
    expect(hasShared).toBe(true);
  });
});
