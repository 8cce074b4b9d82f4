/**
 * PUT /v1/objects/{key}: streams the request body into R2 (one part). Larger files use the
 * multipart form, as S3 clients know it: POST ?uploads starts, PUT ?uploadId&partNumber sends
 * each part, POST ?uploadId completes with the part list (DELETE ?uploadId aborts).
 * GET /v1/objects?prefix= lists. Keys are validated: no `.`/`..`, no empty segments.
 */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, ErrorSchema, notFoundResponse, ObjectSchema } from "../http/schemas.js";
import { checkListPrefix, checkObjectKey } from "../sources/object-keys.js";

const KeyParam = z.object({
  key: z.string().openapi({ param: { name: "key", in: "path" }, example: "models/mlp/v1/model.safetensors" }),
});
// `{key{.+}}`: the key spans slashes (Hono regex parameter); the document shows it as `{key}`.
const OBJECT_PATH = "/v1/objects/{key{.+}}";

const putObject = createRoute({
  method: "put",
  path: OBJECT_PATH,
  summary: "Upload an object (the body, streamed), or one part of a multipart upload (?uploadId&partNumber).",
  security: bearerSecurity,
  request: {
    params: KeyParam,
    query: z.object({ uploadId: z.string().optional(), partNumber: z.coerce.number().int().min(1).max(10000).optional() }),
    body: { required: true, content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
  },
  responses: {
    201: { description: "Stored", content: { "application/json": { schema: ObjectSchema } } },
    200: { description: "Part stored", content: { "application/json": { schema: z.object({ partNumber: z.number(), etag: z.string() }) } } },
    ...errorResponses,
    411: { description: "Content-Length missing", content: { "application/json": { schema: ErrorSchema } } },
  },
});

const postObject = createRoute({
  method: "post",
  path: OBJECT_PATH,
  summary: "Start (?uploads) or complete (?uploadId, body: parts) a multipart upload.",
  security: bearerSecurity,
  request: {
    params: KeyParam,
    query: z.object({ uploads: z.string().optional(), uploadId: z.string().optional() }),
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({ parts: z.array(z.object({ partNumber: z.number().int().min(1), etag: z.string() })).min(1) }),
        },
      },
    },
  },
  responses: {
    200: { description: "Upload started", content: { "application/json": { schema: z.object({ key: z.string(), uploadId: z.string() }) } } },
    201: { description: "Upload completed", content: { "application/json": { schema: ObjectSchema } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

const deleteUpload = createRoute({
  method: "delete",
  path: OBJECT_PATH,
  summary: "Abort a multipart upload (?uploadId).",
  security: bearerSecurity,
  request: { params: KeyParam, query: z.object({ uploadId: z.string() }) },
  responses: { 204: { description: "Aborted" }, ...errorResponses },
});

const listObjects = createRoute({
  method: "get",
  path: "/v1/objects",
  summary: "List objects under a prefix (1000 per page; pass `cursor` for the next page).",
  security: bearerSecurity,
  request: { query: z.object({ prefix: z.string().default(""), cursor: z.string().optional() }) },
  responses: {
    200: {
      description: "Objects",
      content: {
        "application/json": {
          schema: z.object({ objects: z.array(ObjectSchema), cursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses,
  },
});

function describe(object: R2Object): z.infer<typeof ObjectSchema> {
  return { key: object.key, size: object.size, etag: object.etag, uploaded: object.uploaded.toISOString() };
}

function requireLength(c: { req: { header(name: string): string | undefined } }): number {
  const header = c.req.header("content-length");
  const length = header === undefined ? NaN : Number(header);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ApiError(411, "length_required", "Content-Length is required: R2 stores streams of a known length");
  }
  return length;
}

export function objectRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(putObject, async (c) => {
    const key = checkObjectKey(c.req.valid("param").key);
    const { uploadId, partNumber } = c.req.valid("query");
    requireLength(c);
    const body = c.req.raw.body;
    if (body === null) throw new ApiError(400, "bad_request", "the request has no body");
    if (uploadId !== undefined || partNumber !== undefined) {
      if (uploadId === undefined || partNumber === undefined) {
        throw new ApiError(400, "bad_request", "a part upload needs both uploadId and partNumber");
      }
      const part = await c.env.MODELS.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, body);
      return c.json({ partNumber: part.partNumber, etag: part.etag }, 200);
    }
    const contentType = c.req.header("content-type") ?? "application/octet-stream";
    const stored = await c.env.MODELS.put(key, body, { httpMetadata: { contentType } });
    if (stored === null) throw new ApiError(500, "internal_error", `r2://${key}: not stored`);
    return c.json(describe(stored), 201);
  });

  app.openapi(postObject, async (c) => {
    const key = checkObjectKey(c.req.valid("param").key);
    const { uploads, uploadId } = c.req.valid("query");
    if (uploads !== undefined) {
      const upload = await c.env.MODELS.createMultipartUpload(key, {
        httpMetadata: { contentType: c.req.header("x-object-content-type") ?? "application/octet-stream" },
      });
      return c.json({ key, uploadId: upload.uploadId }, 200);
    }
    if (uploadId === undefined) throw new ApiError(400, "bad_request", "POST on an object needs ?uploads or ?uploadId");
    const parsed = await c.req.json().catch(() => undefined);
    const bodySchema = z.object({ parts: z.array(z.object({ partNumber: z.number().int().min(1), etag: z.string() })).min(1) });
    const result = bodySchema.safeParse(parsed);
    if (!result.success) throw new ApiError(400, "bad_request", "completing an upload needs a JSON body {\"parts\": [{\"partNumber\", \"etag\"}]}");
    try {
      const stored = await c.env.MODELS.resumeMultipartUpload(key, uploadId).complete(result.data.parts);
      return c.json(describe(stored), 201);
    } catch (error) {
      throw new ApiError(400, "bad_upload", `r2://${key}: the multipart upload could not be completed (${error instanceof Error ? error.message : String(error)})`);
    }
  });

  app.openapi(deleteUpload, async (c) => {
    const key = checkObjectKey(c.req.valid("param").key);
    await c.env.MODELS.resumeMultipartUpload(key, c.req.valid("query").uploadId).abort();
    return c.body(null, 204);
  });

  app.openapi(listObjects, async (c) => {
    const { prefix, cursor } = c.req.valid("query");
    checkListPrefix(prefix);
    const listing = await c.env.MODELS.list(cursor === undefined ? { prefix, limit: 1000 } : { prefix, cursor, limit: 1000 });
    return c.json({ objects: listing.objects.map(describe), cursor: listing.truncated ? listing.cursor : null }, 200);
  });
}
