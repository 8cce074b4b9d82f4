/**
 * The checkpoints of a series request: the R2 keys as given (each checked as the objects routes
 * check keys, none twice), or every model file under a prefix in key order; at most
 * MAX_SERIES_CHECKPOINTS, and every object must exist before anything is analyzed.
 */
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { MODEL_FILE_ENDINGS } from "../scan/scheduled.js";
import { checkListPrefix, checkObjectKey } from "../sources/object-keys.js";
import { MAX_SERIES_CHECKPOINTS, type SeriesRequest } from "./request.js";

/** Listing pages read for a prefix (1000 keys each): a prefix holding more objects is too broad for one series. */
const MAX_LIST_PAGES = 10;

export async function seriesKeys(env: Env, sources: SeriesRequest["sources"]): Promise<string[]> {
  if (sources.r2_keys !== undefined) {
    const seen = new Set<string>();
    for (const key of sources.r2_keys) {
      checkObjectKey(key);
      if (seen.has(key)) throw new ApiError(400, "bad_request", `sources.r2_keys: ${key} is given twice`);
      seen.add(key);
    }
    return sources.r2_keys;
  }
  return modelKeysUnder(env.MODELS, sources.prefix!);
}

function isModelFile(key: string): boolean {
  const file = key.slice(key.lastIndexOf("/") + 1);
  return MODEL_FILE_ENDINGS.some((ending) => file.endsWith(ending));
}

async function modelKeysUnder(bucket: R2Bucket, prefix: string): Promise<string[]> {
  checkListPrefix(prefix);
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const listing = await bucket.list(cursor === undefined ? { prefix, limit: 1000 } : { prefix, cursor, limit: 1000 });
    keys.push(...listing.objects.map((object) => object.key).filter(isModelFile));
    if (keys.length > MAX_SERIES_CHECKPOINTS) {
      throw new ApiError(400, "too_many_checkpoints", `prefix ${prefix} holds more than ${MAX_SERIES_CHECKPOINTS} model files, the most one series takes; name the keys or a narrower prefix`);
    }
    if (!listing.truncated) {
      if (keys.length === 0) {
        throw new ApiError(400, "no_checkpoints", `prefix ${prefix} holds no model file (endings: ${MODEL_FILE_ENDINGS.join(", ")})`);
      }
      // R2 lists in key order already; sorting states the order the answer relies on.
      return keys.sort();
    }
    cursor = listing.cursor;
  }
  throw new ApiError(400, "too_many_checkpoints", `prefix ${prefix} holds more than ${MAX_LIST_PAGES * 1000} objects; name the keys or a narrower prefix`);
}

/** Fails with 404 naming the first missing key, so a typo costs no analysis. */
export async function requireObjects(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
  const heads = await Promise.all(keys.map((key) => bucket.head(key)));
  const missing = keys.filter((_, i) => heads[i] === null);
  if (missing.length > 0) {
    throw new ApiError(404, "source_not_found", `${missing.map((key) => `r2://${key}`).join(", ")}: no such object`);
  }
}
