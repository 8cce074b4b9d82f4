/**
 * The cron scan: list the registry prefixes in R2 (`<prefix><model>/<version>/<file>`), pick the
 * model file of each version, and queue the versions the index does not know (or whose bytes
 * changed). The queued jobs analyze them through the same path as the API, and each completed
 * version is compared with the previous one (analysis/after-completion.ts).
 */
import { readSettings, type Env } from "../env.js";
import type { ScanVersionJob } from "../fanout/messages.js";
import { parseRegistryKey } from "../sources/object-keys.js";
import { getVersion } from "../storage/registry.js";

/** File endings of model files, most preferred first, when a version folder holds several. */
export const MODEL_FILE_ENDINGS = [".safetensors", ".gguf", ".onnx", ".pt", ".pth", ".bin", ".h5", ".keras", ".npz", "model.json"];
/** Listing pages per prefix and run (1000 keys each), so one run stays within its limits. */
const MAX_PAGES = 20;

interface Candidate {
  key: string;
  etag: string;
  rank: number;
}

function modelFileRank(file: string): number {
  const rank = MODEL_FILE_ENDINGS.findIndex((ending) => file.endsWith(ending));
  return rank < 0 ? Number.POSITIVE_INFINITY : rank;
}

export interface ScanResult {
  versionsSeen: number;
  queued: ScanVersionJob[];
}

export async function scanRegistry(env: Env): Promise<ScanResult> {
  const settings = readSettings(env);
  const queued: ScanVersionJob[] = [];
  let versionsSeen = 0;
  for (const prefix of settings.scanPrefixes) {
    const chosen = new Map<string, Candidate & { model: string; version: string }>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const listing = await env.MODELS.list(cursor === undefined ? { prefix } : { prefix, cursor });
      for (const object of listing.objects) {
        const entry = parseRegistryKey(prefix, object.key);
        if (entry === undefined) continue;
        const rank = modelFileRank(entry.file);
        if (!Number.isFinite(rank)) continue;
        const id = `${entry.model}/${entry.version}`;
        const current = chosen.get(id);
        if (current === undefined || rank < current.rank || (rank === current.rank && object.key < current.key)) {
          chosen.set(id, { key: object.key, etag: object.etag, rank, model: entry.model, version: entry.version });
        }
      }
      if (!listing.truncated) break;
      cursor = listing.cursor;
    }
    for (const candidate of chosen.values()) {
      versionsSeen++;
      const known = await getVersion(env.DB, candidate.model, candidate.version);
      if (known !== null && known.etag === candidate.etag && known.source_key === `r2:${candidate.key}`) continue;
      queued.push({ kind: "scan-version", key: candidate.key, model: candidate.model, version: candidate.version });
    }
  }
  if (queued.length > 0) {
    for (let first = 0; first < queued.length; first += 100) {
      await env.JOBS.sendBatch(queued.slice(first, first + 100).map((body) => ({ body, contentType: "json" as const })));
    }
  }
  return { versionsSeen, queued };
}
