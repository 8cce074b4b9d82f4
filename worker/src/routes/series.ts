/**
 * POST /v1/series: a family of checkpoints in R2 ranked, and with labels checked against a target,
 * as `alphawatch series` does. GET /v1/series/{id}: the same series later (the answer of a series
 * whose checkpoints went over the Queue).
 */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { stringifyJson } from "../../../core/json.js";
import { renderSeriesHtml } from "../../../core/render/series-html.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, ErrorSchema, notFoundResponse } from "../http/schemas.js";
import { seriesState, startSeries, type SeriesState } from "../series/run.js";
import { SeriesProgressSchema, SeriesRequestSchema, SeriesResultSchema } from "../series/request.js";
import { readSeries } from "../series/store.js";

const FormatQuery = z.object({ format: z.enum(["json", "html"]).default("json") });

const doneResponse = {
  description: "The series result (the JSON of `alphawatch series --format json`), or its HTML page with format=html",
  headers: { location: { description: "GET this path for the same series later", schema: { type: "string" as const } } },
  content: {
    "application/json": { schema: SeriesResultSchema },
    "text/html": { schema: z.string() },
  },
};

const runningResponse = {
  description: "Some checkpoints are analyzed over the Queue: poll GET /v1/series/{id}",
  content: { "application/json": { schema: SeriesProgressSchema } },
};

const postSeries = createRoute({
  method: "post",
  path: "/v1/series",
  summary: "Rank a family of checkpoints in R2 and, with labels, check how each summary metric tracks a target.",
  security: bearerSecurity,
  request: {
    query: FormatQuery,
    body: { required: true, content: { "application/json": { schema: SeriesRequestSchema } } },
  },
  responses: {
    200: doneResponse,
    202: runningResponse,
    ...errorResponses,
    404: { description: "A key names no object", content: { "application/json": { schema: ErrorSchema } } },
    413: { description: "A checkpoint above the size limit", content: { "application/json": { schema: ErrorSchema } } },
    422: { description: "A checkpoint is not a model alphawatch can read", content: { "application/json": { schema: ErrorSchema } } },
  },
});

const getSeries = createRoute({
  method: "get",
  path: "/v1/series/{id}",
  summary: "A stored series: its result when every analysis is done, else its progress (202).",
  security: bearerSecurity,
  request: { params: z.object({ id: z.string().uuid() }), query: FormatQuery },
  responses: {
    200: doneResponse,
    202: runningResponse,
    ...errorResponses,
    ...notFoundResponse,
    422: { description: "The analysis of a checkpoint failed", content: { "application/json": { schema: ErrorSchema } } },
  },
});

function respond(c: Context<{ Bindings: Env }>, state: SeriesState, format: "json" | "html"): Response {
  if (state.kind === "running") {
    return c.body(stringifyJson(state.progress), 202, { "content-type": "application/json", location: `/v1/series/${state.progress.id}` });
  }
  const location = `/v1/series/${state.id}`;
  if (format === "html") return c.body(renderSeriesHtml(state.result), 200, { "content-type": "text/html; charset=utf-8", location });
  // core's JSON codec: the numbers are written exactly as the CLI writes them.
  return c.body(stringifyJson(state.result), 200, { "content-type": "application/json", location });
}

export function seriesRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(postSeries, async (c) => {
    const { format } = c.req.valid("query");
    const state = await startSeries(c.env, c.req.valid("json"));
    return respond(c, state, format);
  });

  app.openapi(getSeries, async (c) => {
    const { id } = c.req.valid("param");
    const { format } = c.req.valid("query");
    const record = await readSeries(c.env.REPORTS, id);
    if (record === null) throw new ApiError(404, "not_found", `series ${id} does not exist`);
    return respond(c, await seriesState(c.env, record), format);
  });
}
