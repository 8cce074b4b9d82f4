/**
 * ByteSource over HTTP(S) range requests, so that a remote checkpoint is analysed without
 * downloading it whole: readers fetch headers and the tensor ranges they need.
 *
 * - Size: from a HEAD's Content-Length, else from the first ranged GET's Content-Range.
 * - Reads go through a small LRU cache of aligned blocks (default 1 MiB x 8), so many small reads
 *   (per-row segments, header fields) cost one request per block, and runs of adjacent missing
 *   blocks are fetched with a single request. Memory bound: the cache holds at most
 *   `maxCachedBlocks * blockSize` bytes; a read wider than the cache is fetched directly as one
 *   request of exactly its size and not cached.
 * - A server that ignores Range (200 with the whole body) is accepted only for small files
 *   (< 4 blocks), which are then kept in memory; otherwise the body is abandoned unread.
 * - Every failure (status, network, timeout, truncated body, file changed mid-read) is a
 *   SourceError naming the URL (without query string, which may hold credentials).
 */
import { checkRange, type ByteSource } from "./byte-source.js";
import { describeError, SourceError, UsageError } from "../errors.js";

export interface HttpSourceOptions {
  /** fetch implementation (tests, workers with a bound fetch); the global fetch by default. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Bytes per cached block; 1 MiB by default. */
  blockSize?: number;
  /** Blocks kept in the LRU cache; 8 by default. */
  maxCachedBlocks?: number;
  /** Per-request timeout in milliseconds, body included; 60 s by default. */
  timeoutMs?: number;
}

const DEFAULT_BLOCK_SIZE = 1 << 20;
const DEFAULT_MAX_CACHED_BLOCKS = 8;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Files smaller than this many blocks may come from a server without range support. */
const SMALL_FILE_BLOCKS = 4;

/** Errors that mean "no such file", so that `sibling` can answer undefined for them. */
const notFoundErrors = new WeakSet<Error>();

function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`httpSource: ${option} must be a positive integer, got ${value}`);
  return value;
}

/** Parses a non-negative decimal header value; undefined when absent or malformed. */
function parseLength(text: string | null): number | undefined {
  if (text === null || !/^\s*\d+\s*$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Parses `bytes START-END/TOTAL` (TOTAL may be a star), or the star-for-range form of a 416. */
function parseContentRange(text: string | null): { start?: number; end?: number; total?: number } | undefined {
  if (text === null) return undefined;
  const match = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(text);
  if (match === null) return undefined;
  const toNumber = (s: string | undefined) => (s === undefined || s === "*" ? undefined : Number(s));
  const result: { start?: number; end?: number; total?: number } = {};
  const start = toNumber(match[1]);
  const end = toNumber(match[2]);
  const total = toNumber(match[3]);
  if (start !== undefined) result.start = start;
  if (end !== undefined) result.end = end;
  if (total !== undefined) result.total = total;
  return result;
}

class HttpByteSource implements ByteSource {
  readonly name: string;
  private readonly url: URL;
  private readonly fetchImpl: typeof fetch;
  private readonly blockSize: number;
  private readonly maxCachedBlocks: number;
  private readonly timeoutMs: number;
  private knownSize: Promise<number> | undefined;
  private knownEtag: string | undefined;
  /** The whole file, when a server without range support sent a small one. */
  private wholeFile: Uint8Array | undefined;
  /** Block index → bytes; Map order is recency order (oldest first). */
  private readonly cache = new Map<number, Uint8Array>();
  /** Blocks being fetched, shared by concurrent reads. */
  private readonly pending = new Map<number, Promise<Uint8Array>>();

  constructor(url: URL, private readonly options: HttpSourceOptions) {
    this.url = url;
    this.name = `${url.origin}${url.pathname}`;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.blockSize = positiveInteger(options.blockSize, DEFAULT_BLOCK_SIZE, "blockSize");
    this.maxCachedBlocks = positiveInteger(options.maxCachedBlocks, DEFAULT_MAX_CACHED_BLOCKS, "maxCachedBlocks");
    this.timeoutMs = positiveInteger(options.timeoutMs, DEFAULT_TIMEOUT_MS, "timeoutMs");
  }

  /** The server's ETag, known once the first response has arrived (after `size()`). */
  get etag(): string | undefined {
    return this.knownEtag;
  }

  size(): Promise<number> {
    this.knownSize ??= this.probeSize().catch((error: unknown) => {
      this.knownSize = undefined;
      throw error;
    });
    return this.knownSize;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    checkRange(this.name, size, offset, length);
    if (length === 0) return new Uint8Array(0);
    if (this.wholeFile !== undefined) return this.wholeFile.subarray(offset, offset + length);

    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + length - 1) / this.blockSize);
    if (last - first + 1 > this.maxCachedBlocks) {
      // Wider than the cache: one exact request, not cached (it would evict everything anyway).
      return this.fetchRange(offset, offset + length - 1, size);
    }
    const blocks = await Promise.all(this.blocks(first, last, size));
    if (first === last) {
      const at = offset - first * this.blockSize;
      return blocks[0]!.subarray(at, at + length);
    }
    const out = new Uint8Array(length);
    let written = 0;
    for (let b = first; b <= last; b++) {
      const block = blocks[b - first]!;
      const from = b === first ? offset - first * this.blockSize : 0;
      const to = Math.min(block.byteLength, offset + length - b * this.blockSize);
      out.set(block.subarray(from, to), written);
      written += to - from;
    }
    return out;
  }

  async sibling(relativePath: string): Promise<ByteSource | undefined> {
    let target: URL;
    try {
      target = new URL(relativePath, this.url);
    } catch {
      throw new SourceError(`${this.name}: cannot resolve "${relativePath}" against this URL`);
    }
    if (target.origin !== this.url.origin) {
      throw new SourceError(`${this.name}: refuses to open "${relativePath}" on another origin (${target.origin})`);
    }
    const other = new HttpByteSource(target, this.options);
    try {
      await other.size();
    } catch (error) {
      if (error instanceof Error && notFoundErrors.has(error)) return undefined;
      throw error;
    }
    return other;
  }

  /** Promises for blocks first..last: cached, in flight, or fetched now in coalesced runs. */
  private blocks(first: number, last: number, size: number): Promise<Uint8Array>[] {
    const result: Promise<Uint8Array>[] = [];
    let runStart = -1;
    const flush = (runEnd: number) => {
      if (runStart < 0) return;
      const start = runStart * this.blockSize;
      const end = Math.min((runEnd + 1) * this.blockSize, size) - 1;
      const run = this.fetchRange(start, end, size);
      for (let b = runStart; b <= runEnd; b++) {
        const from = (b - runStart) * this.blockSize;
        // A copy per block, so that a cached block never pins the whole run's buffer.
        const block = run.then((bytes) => bytes.slice(from, from + this.blockSize));
        this.pending.set(b, block);
        block.then(
          (bytes) => this.remember(b, bytes),
          () => undefined,
        ).finally(() => this.pending.delete(b));
        result[b - first] = block;
      }
      runStart = -1;
    };
    for (let b = first; b <= last; b++) {
      const cached = this.cache.get(b);
      const inFlight = cached === undefined ? this.pending.get(b) : undefined;
      if (cached !== undefined) {
        this.cache.delete(b);
        this.cache.set(b, cached);
        result[b - first] = Promise.resolve(cached);
      } else if (inFlight !== undefined) {
        result[b - first] = inFlight;
      } else {
        if (runStart < 0) runStart = b;
        continue;
      }
      flush(b - 1);
    }
    flush(last);
    return result;
  }

  private remember(block: number, bytes: Uint8Array): void {
    this.cache.delete(block);
    this.cache.set(block, bytes);
    while (this.cache.size > this.maxCachedBlocks) {
      const oldest = this.cache.keys().next().value as number;
      this.cache.delete(oldest);
    }
  }

  private async send(method: "HEAD" | "GET", range?: [number, number]): Promise<Response> {
    const headers = new Headers(this.options.headers);
    // Ranges address the stored bytes; a transparently compressed body would not match them.
    if (!headers.has("accept-encoding")) headers.set("accept-encoding", "identity");
    if (range !== undefined) headers.set("range", `bytes=${range[0]}-${range[1]}`);
    let response: Response;
    try {
      response = await this.fetchImpl(this.url.href, { method, headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: "follow" });
    } catch (error) {
      throw this.transportError(error);
    }
    const etag = response.headers.get("etag");
    if (etag !== null && response.ok) {
      if (this.knownEtag !== undefined && this.knownEtag !== etag) {
        await response.body?.cancel().catch(() => undefined);
        throw new SourceError(`${this.name}: the file changed on the server while it was being read (ETag ${this.knownEtag} became ${etag})`);
      }
      this.knownEtag = etag;
    }
    return response;
  }

  private transportError(error: unknown): SourceError {
    if (error instanceof SourceError) return error;
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return new SourceError(`${this.name}: request timed out after ${this.timeoutMs} ms`, { cause: error });
    }
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return new SourceError(`${this.name}: request failed: ${describeError(error)}${cause}`, { cause: error });
  }

  private async statusError(response: Response, what: string): Promise<SourceError> {
    await response.body?.cancel().catch(() => undefined);
    const error = new SourceError(`${this.name}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""} for ${what}`);
    if (response.status === 404 || response.status === 410) notFoundErrors.add(error);
    return error;
  }

  private rangeUnsupported(size: number | undefined): SourceError {
    const whole = size === undefined ? "the whole file" : `the whole ${size}-byte file`;
    return new SourceError(`${this.name}: server does not support range requests (it answered a ranged GET with ${whole}, too large to buffer)`);
  }

  private async probeSize(): Promise<number> {
    const head = await this.send("HEAD");
    const encoding = head.headers.get("content-encoding");
    const headLength = parseLength(head.headers.get("content-length"));
    if (head.ok && headLength !== undefined && (encoding === null || encoding === "identity")) return headLength;
    // No usable HEAD (refused, or no length): the first block's GET tells the size.
    const response = await this.send("GET", [0, this.blockSize - 1]);
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range?.total === undefined || range.start !== 0 || range.end === undefined) {
        await response.body?.cancel().catch(() => undefined);
        throw new SourceError(`${this.name}: partial response without a usable Content-Range (${response.headers.get("content-range") ?? "none"})`);
      }
      const expected = Math.min(this.blockSize, range.total);
      if (range.end !== expected - 1) {
        await response.body?.cancel().catch(() => undefined);
        throw new SourceError(`${this.name}: server sent bytes 0-${range.end}, asked for 0-${expected - 1}`);
      }
      this.remember(0, await this.readBody(response, expected, "bytes 0-" + (expected - 1)));
      return range.total;
    }
    if (response.status === 200) {
      this.wholeFile = await this.readWholeBody(response);
      return this.wholeFile.byteLength;
    }
    if (response.status === 416) {
      // Only an empty file has no byte 0.
      await response.body?.cancel().catch(() => undefined);
      const total = parseContentRange(response.headers.get("content-range"))?.total;
      if (total === 0) {
        this.wholeFile = new Uint8Array(0);
        return 0;
      }
    }
    throw await this.statusError(response, "the file");
  }

  /** Bytes start..end (inclusive) in one request. */
  private async fetchRange(start: number, end: number, size: number): Promise<Uint8Array> {
    const what = `bytes ${start}-${end}`;
    const response = await this.send("GET", [start, end]);
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range !== undefined && (range.start !== start || range.end !== end)) {
        await response.body?.cancel().catch(() => undefined);
        throw new SourceError(`${this.name}: server sent ${response.headers.get("content-range")} when asked for ${what}`);
      }
      return this.readBody(response, end - start + 1, what);
    }
    if (response.status === 200) {
      if (size >= this.blockSize * SMALL_FILE_BLOCKS) {
        await response.body?.cancel().catch(() => undefined);
        throw this.rangeUnsupported(size);
      }
      this.wholeFile = await this.readWholeBody(response);
      if (this.wholeFile.byteLength !== size) {
        throw new SourceError(`${this.name}: the server sent ${this.wholeFile.byteLength} bytes for a ${size}-byte file`);
      }
      return this.wholeFile.slice(start, end + 1);
    }
    throw await this.statusError(response, what);
  }

  /** Exactly `expected` bytes of body; fewer is a truncated response, more a misbehaving server. */
  private async readBody(response: Response, expected: number, what: string): Promise<Uint8Array> {
    const declared = parseLength(response.headers.get("content-length"));
    if (declared !== undefined && declared !== expected) {
      await response.body?.cancel().catch(() => undefined);
      throw new SourceError(`${this.name}: response for ${what} declares ${declared} bytes, expected ${expected}`);
    }
    const out = new Uint8Array(expected);
    let received = 0;
    if (response.body === null) throw new SourceError(`${this.name}: empty response for ${what}`);
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (received + value.byteLength > expected) {
          await reader.cancel().catch(() => undefined);
          throw new SourceError(`${this.name}: response for ${what} is longer than the ${expected} bytes asked for`);
        }
        out.set(value, received);
        received += value.byteLength;
      }
    } catch (error) {
      throw this.transportError(error);
    }
    if (received !== expected) {
      throw new SourceError(`${this.name}: response for ${what} was truncated (${received} of ${expected} bytes)`);
    }
    return out;
  }

  /** The whole body of a 200, only while it stays below the small-file limit. */
  private async readWholeBody(response: Response): Promise<Uint8Array> {
    const limit = this.blockSize * SMALL_FILE_BLOCKS;
    const declared = parseLength(response.headers.get("content-length"));
    if (declared !== undefined && declared >= limit) {
      await response.body?.cancel().catch(() => undefined);
      throw this.rangeUnsupported(declared);
    }
    if (response.body === null) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    let received = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.byteLength;
        if (received >= limit) {
          await reader.cancel().catch(() => undefined);
          throw this.rangeUnsupported(undefined);
        }
        chunks.push(value);
      }
    } catch (error) {
      throw this.transportError(error);
    }
    if (declared !== undefined && received !== declared) {
      throw new SourceError(`${this.name}: response was truncated (${received} of ${declared} bytes)`);
    }
    const out = new Uint8Array(received);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
}

/**
 * A ByteSource for the file at `url` (http or https), read with range requests. Nothing is
 * requested until the first `size()` or `read()`; `etag` is known from then on.
 */
export function httpSource(url: string, init: HttpSourceOptions = {}): ByteSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${url}: not a valid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`${parsed.origin}${parsed.pathname}: only http and https URLs can be read (got ${parsed.protocol})`);
  }
  return new HttpByteSource(parsed, init);
}
