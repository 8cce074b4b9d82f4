/** GET /v1/models/{name}/history and /v1/models/{name}/badge.svg. */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Summary } from "../../../core/report.js";
import { renderBadgeSvg } from "../badge.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, notFoundResponse } from "../http/schemas.js";
import { modelExists, modelHistory } from "../storage/registry.js";

const NameParam = z.object({ name: z.string().min(1).max(200) });

const HistoryEntrySchema = z
  .object({
    version: z.string(),
    source: z.string(),
    uploaded_at: z.string(),
    analysis_id: z.string().nullable(),
    status: z.string().nullable(),
    completed_at: z.string().nullable(),
    summary: z.record(z.string(), z.number()).nullable(),
  })
  .openapi("HistoryEntry");

const historyRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/history",
  summary: "Every version of a model, oldest upload first, with its analysis summary (for trend charts).",
  security: bearerSecurity,
  request: { params: NameParam },
  responses: {
    200: {
      description: "History",
      content: { "application/json": { schema: z.object({ model: z.string(), versions: z.array(HistoryEntrySchema) }) } },
    },
    ...errorResponses,
    ...notFoundResponse,
  },
});

const badgeRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/badge.svg",
  summary: "A quality badge: mean alpha of the latest analyzed version.",
  security: bearerSecurity,
  request: { params: NameParam },
  responses: { 200: { description: "SVG badge", content: { "image/svg+xml": { schema: z.string() } } }, ...errorResponses },
});

export function modelRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(historyRoute, async (c) => {
    const { name } = c.req.valid("param");
    if (!(await modelExists(c.env.DB, name))) throw new ApiError(404, "not_found", `model ${name} has no versions`);
    const rows = await modelHistory(c.env.DB, name);
    const versions = rows.map((row) => ({
      version: row.version,
      source: row.source_key,
      uploaded_at: row.uploaded_at,
      analysis_id: row.analysis_id,
      status: row.status,
      completed_at: row.completed_at,
      summary: row.summary_json === null ? null : (JSON.parse(row.summary_json) as Record<string, number>),
    }));
    return c.json({ model: name, versions }, 200);
  });

  app.openapi(badgeRoute, async (c) => {
    const { name } = c.req.valid("param");
    const rows = await modelHistory(c.env.DB, name);
    const latest = [...rows].reverse().find((row) => row.status === "done" && row.summary_json !== null);
    const summary = latest === undefined ? null : (JSON.parse(latest.summary_json!) as Summary);
    const svg = renderBadgeSvg(name, { alpha: summary?.alpha ?? null });
    return c.body(svg, 200, { "content-type": "image/svg+xml; charset=utf-8", "cache-control": "max-age=300" });
  });
}
