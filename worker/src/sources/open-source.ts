/**
 * Where an analysis reads its model from: an R2 key (`r2:<key>` in the index) or an HTTPS URL
 * that answers range requests (core's httpSource, through the guarded fetch).
 */
import type { ByteSource } from "../../../core/formats/byte-source.js";
import type { Env, Settings } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { r2SourceFromHead } from "../r2-source.js";
import { checkObjectKey } from "./object-keys.js";
import { httpSource } from "../../../core/formats/http-source.js";
import { guardedFetch } from "./guarded-fetch.js";
import { checkSourceUrl } from "./url-policy.js";

export type SourceSpec = { kind: "r2"; key: string } | { kind: "url"; url: string };

const R2_PREFIX = "r2:";

/** The form stored in the index (`analyses.source`). */
export function sourceText(spec: SourceSpec): string {
  return spec.kind === "r2" ? `${R2_PREFIX}${spec.key}` : spec.url;
}

export function parseSourceText(text: string): SourceSpec {
  return text.startsWith(R2_PREFIX) ? { kind: "r2", key: text.slice(R2_PREFIX.length) } : { kind: "url", url: text };
}

export interface OpenedSource {
  source: ByteSource;
  /** When the object was stored (R2); orders the versions of a model. */
  uploaded: Date | undefined;
}

/** Opens the source, checking the key or URL and the size limit. */
export async function openSource(env: Env, settings: Settings, spec: SourceSpec): Promise<OpenedSource> {
  let source: ByteSource;
  let uploaded: Date | undefined;
  if (spec.kind === "r2") {
    const key = checkObjectKey(spec.key);
    const head = await env.MODELS.head(key);
    if (head === null) throw new ApiError(404, "source_not_found", `r2://${key}: no such object`);
    source = r2SourceFromHead(env.MODELS, key, head);
    uploaded = head.uploaded;
  } else {
    const url = checkSourceUrl(spec.url, settings.allowPrivateUrls);
    source = httpSource(url.href, { fetch: guardedFetch(settings.allowPrivateUrls) });
  }
  const size = await source.size();
  if (size > settings.maxSourceBytes) {
    throw new ApiError(413, "source_too_large", `${source.name}: ${size} bytes, above the limit of ${settings.maxSourceBytes} bytes`);
  }
  return { source, uploaded };
}
