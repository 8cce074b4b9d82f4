/**
 * R2 object keys the API accepts, and the registry layout the cron scan reads
 * (`<prefix><model>/<version>/<file>`).
 */
import { ApiError } from "../http/api-error.js";

const MAX_KEY_BYTES = 1024;

/** Throws ApiError 400 unless `key` is a clean relative path: no `.`/`..`, no empty segments. */
export function checkObjectKey(key: string): string {
  if (key === "") throw new ApiError(400, "bad_key", "object key is empty");
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) {
    throw new ApiError(400, "bad_key", `object key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new ApiError(400, "bad_key", `object key ${JSON.stringify(key)} contains a control character or a backslash`);
  }
  for (const segment of key.split("/")) {
    if (segment === "") throw new ApiError(400, "bad_key", `object key ${JSON.stringify(key)} has an empty path segment`);
    if (segment === "." || segment === "..") {
      throw new ApiError(400, "bad_key", `object key ${JSON.stringify(key)} has a "${segment}" path segment`);
    }
  }
  return key;
}

/** A prefix for listing: empty, or a clean key (a trailing slash allowed). */
export function checkListPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  checkObjectKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  return prefix;
}

export interface RegistryEntry {
  model: string;
  version: string;
  file: string;
}

/** `<prefix><model>/<version>/<file>` (file may contain slashes); undefined for other keys. */
export function parseRegistryKey(prefix: string, key: string): RegistryEntry | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split("/");
  if (parts.length < 3 || parts.some((part) => part === "")) return undefined;
  const [model, version, ...rest] = parts as [string, string, ...string[]];
  return { model, version, file: rest.join("/") };
}
