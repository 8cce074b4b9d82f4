/**
 * `api-url` mode: the checkpoint is uploaded to the alphawatch Worker (PUT /v1/objects/{key}) and
 * analyzed there (POST /v1/analyses, polling GET /v1/analyses/{id} for large models); the runner
 * only compares the reports. The Worker API accepts the core layer options but not randomize.
 */
import { SourceError } from "../../core/errors.js";
import type { ByteSource } from "../../core/formats/byte-source.js";
import type { Report } from "../../core/report.js";
import type { CheckpointVersion } from "./checkpoint-version.js";
import { parseJson } from "../../core/json.js";

export interface WorkerApi {
  url: string;
  key: string;
  fetch: typeof fetch;
  /** First delay between two polls of a fanned-out analysis; it grows by half each time, up to 10 s. */
  pollMs: number;
  /** Give up after this long. */
  timeoutMs: number;
}

/** Largest checkpoint sent in one upload; the Worker's multipart upload is not used by the Action. */
export const MAX_UPLOAD_BYTES = 2 ** 31 - 1;

interface AnalysisView {
  id?: unknown;
  status?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
  report?: Report;
}

async function call(api: WorkerApi, method: string, route: string, body?: BodyInit, contentType?: string): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${api.key}`, accept: "application/json" };
  if (contentType !== undefined) headers["content-type"] = contentType;
  let response: Response;
  try {
    response = await api.fetch(`${api.url}${route}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(300_000) });
  } catch (error) {
    throw new SourceError(`${api.url}${route}: request failed: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text === "" ? undefined : parseJson(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const message = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
    throw new SourceError(`${method} ${api.url}${route}: HTTP ${response.status}${typeof message === "string" ? `: ${message}` : ""}`);
  }
  return { status: response.status, json };
}

export async function analyzeThroughApi(api: WorkerApi, source: ByteSource, version: CheckpointVersion, log: (line: string) => void): Promise<Report> {
  const size = await source.size();
  if (size > MAX_UPLOAD_BYTES) throw new SourceError(`${source.name}: ${size} bytes is above the Action's upload limit for the Worker API`);
  const bytes = await source.read(0, size);
  const fileName = version.path.split("/").pop() ?? "model";
  const key = `alphawatch-action/${version.key.replace(":", "-")}/${fileName}`;
  await call(api, "PUT", `/v1/objects/${key.split("/").map(encodeURIComponent).join("/")}`, bytes as Uint8Array<ArrayBuffer>, "application/octet-stream");
  let { json } = await call(api, "POST", "/v1/analyses", JSON.stringify({ source: { r2_key: key } }), "application/json");
  const deadline = Date.now() + api.timeoutMs;
  let delay = api.pollMs;
  for (;;) {
    const view = json as AnalysisView;
    if (view.status === "done" && view.report !== undefined) return view.report;
    if (view.status === "failed") {
      throw new SourceError(`${source.name}: the Worker API could not analyze it: ${String(view.error?.message ?? "no reason given")}`);
    }
    if (typeof view.id !== "string") throw new SourceError(`${api.url}/v1/analyses: answer without an analysis id`);
    if (Date.now() > deadline) throw new SourceError(`${source.name}: the Worker API analysis ${view.id} did not finish within ${api.timeoutMs / 1000} s`);
    log(`  waiting for Worker analysis ${view.id} (${String(view.status)})`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(10_000, delay * 1.5);
    ({ json } = await call(api, "GET", `/v1/analyses/${encodeURIComponent(view.id)}`));
  }
}
