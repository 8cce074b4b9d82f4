/** POST /v1/analyses, GET /v1/analyses/{id}. */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { MAX_ESD_PLOTS } from "../../../core/render/index.js";
import type { AnalyzeOptions, Report } from "../../../core/report.js";
import { withEvals } from "../storage/evals.js";
import { startAnalysis, type AnalysisRequest } from "../analysis/start.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { renderReport, type ReportFormat } from "../http/report-formats.js";
import {
  AnalysisRequestSchema,
  AnalysisSchema,
  bearerSecurity,
  errorResponses,
  ErrorSchema,
  notFoundResponse,
} from "../http/schemas.js";
import { countLayerResults, getAnalysis, readReport, summaryOf, type AnalysisRow } from "../storage/analyses.js";
import { withJsonNumbers } from "../../../core/json.js";

export interface AnalysisView {
  id: string;
  status: AnalysisRow["status"];
  source: string;
  model: string | null;
  version: string | null;
  deduplicated?: boolean;
  progress: { layers_done: number; layers_total: number };
  created_at: string;
  completed_at: string | null;
  summary: Record<string, number> | null;
  error: { code: string; message: string } | null;
  report?: Report;
}

async function analysisView(db: D1Database, row: AnalysisRow, report: Report | null, deduplicated?: boolean): Promise<AnalysisView> {
  const done = row.status === "done" ? row.layers_total : await countLayerResults(db, row.id);
  const view: AnalysisView = {
    id: row.id,
    status: row.status,
    source: row.source,
    model: row.model,
    version: row.version,
    progress: { layers_done: done, layers_total: row.layers_total },
    created_at: row.created_at,
    completed_at: row.completed_at,
    summary: summaryOf(row) as Record<string, number> | null,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? "" },
  };
  if (deduplicated !== undefined) view.deduplicated = deduplicated;
  if (report !== null) view.report = report;
  return view;
}

const postAnalysis = createRoute({
  method: "post",
  path: "/v1/analyses",
  summary: "Analyze a model: small models answer with the report, large ones are fanned out (202).",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: AnalysisRequestSchema } } } },
  responses: {
    200: { description: "Done (or already analyzed: same bytes, same options)", content: { "application/json": { schema: AnalysisSchema } } },
    202: { description: "Accepted: the layers are queued; poll GET /v1/analyses/{id}", content: { "application/json": { schema: AnalysisSchema } } },
    ...errorResponses,
    ...notFoundResponse,
    413: { description: "Source above the size limit", content: { "application/json": { schema: ErrorSchema } } },
    422: { description: "Not a model alphawatch can read", content: { "application/json": { schema: ErrorSchema } } },
  },
});

const getAnalysisRoute = createRoute({
  method: "get",
  path: "/v1/analyses/{id}",
  summary: "Status, progress and, when done, the report (json, markdown or html).",
  security: bearerSecurity,
  request: {
    params: z.object({ id: z.string().uuid() }),
    query: z.object({ format: z.enum(["json", "markdown", "html"]).default("json") }),
  },
  responses: {
    200: {
      description: "The analysis; with format=markdown|html the rendered report",
      content: {
        "application/json": { schema: AnalysisSchema },
        "text/markdown": { schema: z.string() },
        "text/html": { schema: z.string() },
      },
    },
    ...errorResponses,
    ...notFoundResponse,
    409: { description: "Report not ready for rendering", content: { "application/json": { schema: ErrorSchema } } },
    501: { description: "Renderer not available", content: { "application/json": { schema: ErrorSchema } } },
  },
});

export function analysisRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(postAnalysis, async (c) => {
    const body = c.req.valid("json");
    const request: AnalysisRequest = {
      source: "r2_key" in body.source ? { kind: "r2", key: body.source.r2_key } : { kind: "url", url: body.source.url },
      options: stripUndefined(body.options ?? {}) as Partial<AnalyzeOptions>,
      model: body.model,
      version: body.version,
    };
    const started = await startAnalysis(c.env, request);
    const view = await analysisView(c.env.DB, started.row, started.report, started.deduplicated);
    return c.json(withJsonNumbers(view) as z.infer<typeof AnalysisSchema>, started.row.status === "done" ? 200 : 202);
  });

  app.openapi(getAnalysisRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { format } = c.req.valid("query");
    const row = await getAnalysis(c.env.DB, id);
    if (row === null) throw new ApiError(404, "not_found", `analysis ${id} does not exist`);
    const report = row.status === "done" ? await readReport(c.env.REPORTS, row) : null;
    if (format === "json") return c.json(withJsonNumbers(await analysisView(c.env.DB, row, report)) as z.infer<typeof AnalysisSchema>, 200);
    if (report === null) throw new ApiError(409, "not_ready", `analysis ${id} is ${row.status}: no report to render yet`);
    if (format === "html") {
      // The HTML report draws the ESD of its first MAX_ESD_PLOTS layers: put their eigenvalues back.
      report.layers = await Promise.all(
        report.layers.map((layer, i) => (i < MAX_ESD_PLOTS ? withEvals(c.env.REPORTS, id, layer) : layer)),
      );
    }
    const rendered = renderReport(report, format as Exclude<ReportFormat, "json">);
    return c.body(rendered.body, 200, { "content-type": rendered.contentType });
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
