/** GET /v1/models/{name}/history and /v1/models/{name}/badge.svg. */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { stringifyJson } from "../../../core/json.js";
import { renderSeriesHtml } from "../../../core/render/series-html.js";
import type { Summary } from "../../../core/report.js";
import { renderBadgeSvg } from "../badge.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, ErrorSchema, notFoundResponse } from "../http/schemas.js";
import { historySeries } from "../series/history.js";
import { SeriesResultSchema } from "../series/request.js";
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
  summary: "Every version of a model, oldest upload first, with its analysis summary, and the series of its analyzed versions (for trend charts).",
  security: bearerSecurity,
  request: { params: NameParam, query: z.object({ format: z.enum(["json", "html"]).default("json") }) },
  responses: {
    200: {
      description: "History; `series` is the series result of the analyzed versions (null before the first), its HTML page with format=html",
      content: {
        "application/json": {
          schema: z.object({ model: z.string(), versions: z.array(HistoryEntrySchema), series: SeriesResultSchema.nullable() }),
        },
        "text/html": { schema: z.string() },
      },
    },
    ...errorResponses,
    ...notFoundResponse,
    409: { description: "format=html before any version is analyzed", content: { "application/json": { schema: ErrorSchema } } },
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
    const { format } = c.req.valid("query");
    if (!(await modelExists(c.env.DB, name))) throw new ApiError(404, "not_found", `model ${name} has no versions`);
    const rows = await modelHistory(c.env.DB, name);
    const series = await historySeries(c.env.REPORTS, c.env.DB, name, rows);
    if (format === "html") {
      if (series === null) throw new ApiError(409, "not_ready", `model ${name} has no analyzed version yet: no series to render`);
      return c.body(renderSeriesHtml(series), 200, { "content-type": "text/html; charset=utf-8" });
    }
    const versions = rows.map((row) => ({
      version: row.version,
      source: row.source_key,
      uploaded_at: row.uploaded_at,
      analysis_id: row.analysis_id,
      status: row.status,
      completed_at: row.completed_at,
      summary: row.summary_json === null ? null : (JSON.parse(row.summary_json) as Record<string, number>),
    }));
    // core's JSON codec for the series: its numbers are written as the CLI writes them.
    return c.body(stringifyJson({ model: name, versions, series }), 200, { "content-type": "application/json" });
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
