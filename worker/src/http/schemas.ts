/** Request and response schemas: validation and the OpenAPI document come from the same definitions. */
import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "bad_request" }),
      message: z.string().openapi({ example: "body.source: expected an object" }),
    }),
  })
  .openapi("Error");

export const OptionsSchema = z
  .object({
    min_evals: z.number().int().optional(),
    max_evals: z.number().int().optional(),
    max_N: z.number().int().optional(),
    tolerance: z.number().nonnegative().optional(),
    xmax: z.number().int().nullable().optional(),
    pool: z.boolean().optional(),
    conv2d_norm: z.boolean().optional(),
    layers: z.array(z.union([z.string(), z.number().int()])).optional(),
    compat: z.enum(["default", "ww", "ww-file"]).optional(),
  })
  .strict()
  .openapi("AnalyzeOptions", { description: "Analysis options (weightwatcher names); defaults as in the CLI." });

export const SourceSchema = z
  .union([
    z.object({ r2_key: z.string().min(1).openapi({ example: "models/mlp/v1/model.safetensors" }) }).strict(),
    z.object({ url: z.string().min(1).openapi({ example: "https://example.com/model.safetensors" }) }).strict(),
  ])
  .openapi("Source", { description: "An object in the Worker's R2 bucket, or an HTTPS URL that answers range requests." });

export const AnalysisRequestSchema = z
  .object({
    source: SourceSchema,
    options: OptionsSchema.optional(),
    model: z.string().min(1).max(200).regex(/^[^/]+$/).optional().openapi({ description: "Registry model name (no slash)." }),
    version: z.string().min(1).max(200).regex(/^[^/]+$/).optional(),
  })
  .strict()
  .refine((body) => (body.model === undefined) === (body.version === undefined), {
    message: "model and version go together",
  })
  .openapi("AnalysisRequest");

export const AnalysisSchema = z
  .object({
    id: z.string(),
    status: z.enum(["running", "completing", "done", "failed"]),
    source: z.string(),
    model: z.string().nullable(),
    version: z.string().nullable(),
    deduplicated: z.boolean().optional(),
    progress: z.object({ layers_done: z.number().int(), layers_total: z.number().int() }),
    created_at: z.string(),
    completed_at: z.string().nullable(),
    summary: z.record(z.string(), z.number()).nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    report: z.unknown().optional().openapi({ description: "The Report JSON (docs/report.schema.json) when done." }),
  })
  .openapi("Analysis");

export const ObjectSchema = z
  .object({ key: z.string(), size: z.number().int(), etag: z.string(), uploaded: z.string() })
  .openapi("StoredObject");

export const errorResponses = {
  400: { description: "Invalid request", content: { "application/json": { schema: ErrorSchema } } },
  401: { description: "Missing or malformed API key", content: { "application/json": { schema: ErrorSchema } } },
  403: { description: "API key not accepted", content: { "application/json": { schema: ErrorSchema } } },
} as const;

export const notFoundResponse = {
  404: { description: "Not found", content: { "application/json": { schema: ErrorSchema } } },
} as const;

export const bearerSecurity = [{ bearerAuth: [] }];
