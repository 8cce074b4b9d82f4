/**
 * Client of the Worker API (docs/worker.md): analyses of R2 objects (with polling of fanned-out
 * ones), streamed uploads into R2 (one PUT, or the multipart form for large files), listings.
 * Every failure is a typed error naming the object or file and what the API answered.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { AlphawatchError, BudgetError, FormatError, SourceError, UnsupportedError, UsageError } from "../core/errors.js";
import type { AnalyzeOptions, Report } from "../core/report.js";
import { parseJson } from "../core/json.js";

/** One analysis as GET /v1/analyses/{id} shows it. */
export interface AnalysisView {
  id: string;
  status: "running" | "completing" | "done" | "failed";
  source: string;
  deduplicated?: boolean;
  progress: { layers_done: number; layers_total: number };
  summary: Record<string, number> | null;
  error: { code: string; message: string } | null;
  report?: Report;
}

/** A named model's version, as the registry (history, badge, scans) knows it. */
export interface RegistryVersion {
  model: string;
  version: string;
}

export interface StoredObject {
  key: string;
  size: number;
  etag: string;
  uploaded: string;
}

export interface ApiClientSettings {
  /** The API's origin, for example http://127.0.0.1:8787. */
  baseUrl: string;
  apiKey: string;
  /** First wait between polls of a fanned-out analysis; it doubles up to `maxPollIntervalMs`. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** How long to wait for a fanned-out analysis before giving up. */
  timeoutMs?: number;
}

export interface UploadSettings {
  /** Files up to this size go in one PUT; larger ones in parts of this size. */
  partSize?: number;
  /** Called after each part with the bytes sent so far. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** R2 refuses multipart parts below 5 MiB (except the last); a Worker request body tops out at 100 MB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 95 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 64 * 1024 * 1024;
/** R2's limit on the number of parts of one upload. */
const MAX_PARTS = 10_000;

const R2_SCHEME = "r2://";

/** `r2://models/x/v1/m.safetensors` → `models/x/v1/m.safetensors`; anything else is a usage error. */
export function r2KeyOf(target: string): string {
  if (!target.startsWith(R2_SCHEME) || target.length === R2_SCHEME.length) {
    throw new UsageError(`${target}: with --api the model must be an object of the API's bucket, written r2://KEY`);
  }
  return target.slice(R2_SCHEME.length);
}

/** The API origin without a trailing slash; only http(s). */
export function apiBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--api: not a URL: "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--api: must be an http(s) URL, got "${value}"`);
  return url.href.replace(/\/+$/, "");
}

/**
 * The error class a failed API call maps to, by the status and code of its JSON error body
 * (`status` undefined: an analysis that ended failed, with its recorded code).
 */
function apiFailure(subject: string, status: number | undefined, code: string, message: string): AlphawatchError {
  const text = `${subject}: ${message} (${status === undefined ? "" : `HTTP ${status} `}${code})`;
  if (status === 401 || status === 403) return new UsageError(`${subject}: the API refused the key: ${message} (HTTP ${status} ${code})`);
  if (code === "bad_model_format") return new FormatError(text);
  if (code === "unsupported_model") return new UnsupportedError(text);
  if (code === "over_budget") return new BudgetError(text);
  if (status === 400) return new UsageError(text);
  return new SourceError(text);
}

async function errorOf(subject: string, response: Response): Promise<AlphawatchError> {
  const text = await response.text().catch(() => "");
  let code = "http_error";
  let message = text.slice(0, 300) || response.statusText || "no message";
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === "string") code = body.error.code;
    if (typeof body.error?.message === "string") message = body.error.message;
  } catch {
    // Not a JSON error body (a proxy's page, for instance): its start is the message.
  }
  return apiFailure(subject, response.status, code, message);
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly timeoutMs: number;

  constructor(settings: ApiClientSettings) {
    this.baseUrl = apiBaseUrl(settings.baseUrl);
    if (settings.apiKey.trim() === "") throw new UsageError("--api-key (or ALPHAWATCH_API_KEY) is empty");
    this.apiKey = settings.apiKey;
    this.pollIntervalMs = settings.pollIntervalMs ?? 250;
    this.maxPollIntervalMs = settings.maxPollIntervalMs ?? 2000;
    this.timeoutMs = settings.timeoutMs ?? 60 * 60 * 1000;
  }

  /** One request; network failures become a SourceError naming the subject and the API. */
  private async request(subject: string, method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.apiKey}`);
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, method, headers });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new SourceError(`${subject}: cannot reach the API at ${this.baseUrl} (${cause})`, { cause: error });
    }
  }

  private async json<T>(subject: string, method: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const response = await this.request(subject, method, path, init);
    if (!response.ok) throw await errorOf(subject, response);
    // parseJson turns the "Infinity" strings of non-finite metrics back into numbers.
    return { status: response.status, body: parseJson<T>(await response.text()) };
  }

  /**
   * Starts the analysis of an R2 object: 200 with the report, or 202 for a fanned-out one. With
   * `registry`, the object is recorded as that version of that model (history, scans).
   */
  async startAnalysis(key: string, options: Partial<AnalyzeOptions>, registry?: RegistryVersion): Promise<AnalysisView> {
    const { body } = await this.json<AnalysisView>(`${R2_SCHEME}${key}`, "POST", "/v1/analyses", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ source: { r2_key: key }, options, ...registry }),
    });
    return body;
  }

  async getAnalysis(id: string, subject = `analysis ${id}`): Promise<AnalysisView> {
    return (await this.json<AnalysisView>(subject, "GET", `/v1/analyses/${encodeURIComponent(id)}`)).body;
  }

  /** The report rendered by the API (`markdown` or `html`; the HTML has the layers' ESD plots). */
  async renderedReport(id: string, format: "markdown" | "html", subject = `analysis ${id}`): Promise<string> {
    const response = await this.request(subject, "GET", `/v1/analyses/${encodeURIComponent(id)}?format=${format}`);
    if (!response.ok) throw await errorOf(subject, response);
    return response.text();
  }

  /**
   * Analyzes an R2 object and waits until it is done: a fanned-out analysis is polled (waits
   * doubling up to the maximum) until it is done or failed, or the timeout passes.
   */
  async analyze(
    key: string,
    options: Partial<AnalyzeOptions>,
    onProgress?: (view: AnalysisView) => void,
    registry?: RegistryVersion,
  ): Promise<AnalysisView & { report: Report }> {
    const subject = `${R2_SCHEME}${key}`;
    let view = await this.startAnalysis(key, options, registry);
    const deadline = Date.now() + this.timeoutMs;
    let wait = this.pollIntervalMs;
    while (view.status === "running" || view.status === "completing") {
      onProgress?.(view);
      if (Date.now() > deadline) {
        throw new SourceError(`${subject}: analysis ${view.id} not done after ${Math.round(this.timeoutMs / 1000)} s (${view.progress.layers_done}/${view.progress.layers_total} layers)`);
      }
      await sleep(wait);
      wait = Math.min(wait * 2, this.maxPollIntervalMs);
      view = await this.getAnalysis(view.id, subject);
    }
    if (view.status === "failed") {
      const error = view.error ?? { code: "analysis_failed", message: "the analysis failed" };
      throw apiFailure(subject, undefined, error.code, `analysis ${view.id} failed: ${error.message}`);
    }
    if (view.report === undefined) throw new SourceError(`${subject}: analysis ${view.id} is done but the API sent no report`);
    return view as AnalysisView & { report: Report };
  }

  /** Every object under a prefix (all pages). */
  async listObjects(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ prefix });
      if (cursor !== null) query.set("cursor", cursor);
      const { body } = await this.json<{ objects: StoredObject[]; cursor: string | null }>(
        `${R2_SCHEME}${prefix}`,
        "GET",
        `/v1/objects?${query.toString()}`,
      );
      objects.push(...body.objects);
      cursor = body.cursor;
    } while (cursor !== null);
    return objects;
  }

  /**
   * Streams a local file into R2 under `key`: one PUT up to the part size, else a multipart upload
   * (parts read from the file one at a time, so memory stays at one socket buffer; aborted on error).
   */
  async upload(filePath: string, key: string, settings: UploadSettings = {}): Promise<StoredObject> {
    const partSize = settings.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new UsageError(`--part-size must be between ${MIN_PART_SIZE / 2 ** 20} and ${MAX_PART_SIZE / 2 ** 20} MiB, got ${partSize / 2 ** 20} MiB`);
    }
    let size: number;
    try {
      const info = await stat(filePath);
      if (!info.isFile()) throw new SourceError(`${filePath}: not a regular file`);
      size = info.size;
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(`${filePath}: cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const subject = `${filePath} → ${R2_SCHEME}${key}`;
    const path = `/v1/objects/${encodeObjectKey(key)}`;
    if (size <= partSize) {
      const { body } = await this.json<StoredObject>(subject, "PUT", path, streamedBody(filePath, 0, size));
      settings.onProgress?.(size, size);
      return body;
    }
    const partCount = Math.ceil(size / partSize);
    if (partCount > MAX_PARTS) throw new UsageError(`${filePath}: ${partCount} parts of ${partSize} bytes; R2 takes at most ${MAX_PARTS}: raise --part-size`);
    const { body: started } = await this.json<{ uploadId: string }>(subject, "POST", `${path}?uploads`);
    const uploadQuery = `uploadId=${encodeURIComponent(started.uploadId)}`;
    try {
      const parts: Array<{ partNumber: number; etag: string }> = [];
      for (let partNumber = 1; partNumber <= partCount; partNumber++) {
        const start = (partNumber - 1) * partSize;
        const length = Math.min(partSize, size - start);
        const { body: part } = await this.json<{ partNumber: number; etag: string }>(
          `${subject} (part ${partNumber} of ${partCount})`,
          "PUT",
          `${path}?${uploadQuery}&partNumber=${partNumber}`,
          streamedBody(filePath, start, length),
        );
        parts.push({ partNumber: part.partNumber, etag: part.etag });
        settings.onProgress?.(start + length, size);
      }
      const { body: stored } = await this.json<StoredObject>(subject, "POST", `${path}?${uploadQuery}`, {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ parts }),
      });
      return stored;
    } catch (error) {
      // Leave no half upload behind in the bucket; the original error is what the user needs.
      await this.request(subject, "DELETE", `${path}?${uploadQuery}`).catch(() => undefined);
      throw error;
    }
  }
}

/** Keys keep their slashes in the path (the API's `{key}` spans them); each segment is escaped. */
export function encodeObjectKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** A request body that streams `length` bytes of the file from `start` (Content-Length set: R2 needs it). */
function streamedBody(filePath: string, start: number, length: number): RequestInit {
  const body = length === 0 ? new Uint8Array(0) : (Readable.toWeb(createReadStream(filePath, { start, end: start + length - 1 })) as ReadableStream<Uint8Array>);
  // `duplex: "half"` is how fetch sends a stream; the DOM typings do not know it yet.
  return {
    body,
    duplex: "half",
    headers: { "content-type": "application/octet-stream", "content-length": String(length) },
  } as RequestInit;
}
