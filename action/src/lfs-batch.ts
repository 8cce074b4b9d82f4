/**
 * Git LFS batch API client (download only): asks the LFS server where each object is, then the
 * Action reads just the byte ranges it needs from that address. The repository's token is sent
 * only to the GitHub server itself, never to an endpoint a pull request could have configured.
 */
import { SourceError } from "../../core/errors.js";
import type { LfsPointer } from "./lfs-pointer.js";

export interface LfsEndpoint {
  /** Base URL, e.g. https://github.com/owner/repo.git/info/lfs */
  url: string;
  /** Headers for the batch request (Authorization for the GitHub server). */
  headers: Record<string, string>;
}

export interface LfsDownload {
  href: string;
  headers: Record<string, string>;
}

const LFS_MEDIA_TYPE = "application/vnd.git-lfs+json";

/**
 * The repository's LFS endpoint: an explicit lfs.url (repository config, then `.lfsconfig` of the
 * base commit), else the GitHub server's `<repo>.git/info/lfs`. The token goes only to an endpoint
 * on the GitHub server's origin.
 */
export function lfsEndpoint(options: { configuredUrl: string | undefined; serverUrl: string; repository: string; token: string }): LfsEndpoint {
  const url = (options.configuredUrl ?? `${options.serverUrl.replace(/\/+$/, "")}/${options.repository}.git/info/lfs`).replace(/\/+$/, "");
  const headers: Record<string, string> = {};
  let sameOrigin = false;
  try {
    sameOrigin = new URL(url).origin === new URL(options.serverUrl).origin;
  } catch {
    throw new SourceError(`Git LFS endpoint ${JSON.stringify(url)} is not a valid URL`);
  }
  if (sameOrigin && options.token !== "") {
    headers.authorization = `Basic ${Buffer.from(`x-access-token:${options.token}`).toString("base64")}`;
  }
  return { url, headers };
}

interface BatchObject {
  oid?: unknown;
  size?: unknown;
  actions?: { download?: { href?: unknown; header?: unknown } };
  error?: { code?: unknown; message?: unknown };
}

/**
 * One batch request for `pointers`; resolves with a download (or an error message) per oid. The
 * answer is checked before use: an object that was not asked for, or a malformed action, is an
 * error for that object.
 */
export async function lfsBatchDownload(
  endpoint: LfsEndpoint,
  pointers: readonly LfsPointer[],
  fetchImpl: typeof fetch = fetch,
): Promise<Map<string, LfsDownload | Error>> {
  const result = new Map<string, LfsDownload | Error>();
  if (pointers.length === 0) return result;
  const where = `${endpoint.url}/objects/batch`;
  let response: Response;
  try {
    response = await fetchImpl(where, {
      method: "POST",
      headers: { ...endpoint.headers, accept: LFS_MEDIA_TYPE, "content-type": LFS_MEDIA_TYPE },
      body: JSON.stringify({
        operation: "download",
        transfers: ["basic"],
        objects: pointers.map((p) => ({ oid: p.oid, size: p.size })),
        hash_algo: "sha256",
      }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new SourceError(`${where}: Git LFS batch request failed: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new SourceError(`${where}: Git LFS batch request answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  let body: { objects?: unknown };
  try {
    body = JSON.parse(text) as { objects?: unknown };
  } catch {
    throw new SourceError(`${where}: Git LFS batch answer is not JSON`);
  }
  const asked = new Set(pointers.map((p) => p.oid));
  for (const object of Array.isArray(body.objects) ? (body.objects as BatchObject[]) : []) {
    if (typeof object.oid !== "string" || !asked.has(object.oid)) continue;
    if (object.error !== undefined) {
      result.set(object.oid, new SourceError(`Git LFS object ${object.oid}: ${String(object.error.message ?? "error")} (code ${String(object.error.code)})`));
      continue;
    }
    const download = object.actions?.download;
    if (typeof download?.href !== "string" || !/^https?:\/\//.test(download.href)) {
      result.set(object.oid, new SourceError(`Git LFS object ${object.oid}: the server gave no download address`));
      continue;
    }
    const headers: Record<string, string> = {};
    if (download.header !== undefined && typeof download.header === "object" && download.header !== null) {
      for (const [key, value] of Object.entries(download.header)) if (typeof value === "string") headers[key] = value;
    }
    result.set(object.oid, { href: download.href, headers });
  }
  for (const pointer of pointers) {
    if (!result.has(pointer.oid)) result.set(pointer.oid, new SourceError(`Git LFS object ${pointer.oid}: missing from the server's answer`));
  }
  return result;
}
