/** GET /v1/analyses/{id}/layers/{name}/esd.svg: core's ESD plot of one analyzed layer. */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { renderEsdSvg } from "../../../core/render/index.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, notFoundResponse } from "../http/schemas.js";
import { withEvals } from "../storage/evals.js";
import { getAnalysis, readReport } from "../storage/analyses.js";

const esdRoute = createRoute({
  method: "get",
  // `{name{.+}}`: layer names may contain slashes (TensorFlow names).
  path: "/v1/analyses/{id}/layers/{name{.+}}/esd.svg",
  summary: "ESD plot of one layer (log-log histogram with the power-law fit); ?slice= for unpooled conv2d slices.",
  security: bearerSecurity,
  request: {
    params: z.object({ id: z.string().uuid(), name: z.string().openapi({ param: { name: "name", in: "path" } }) }),
    query: z.object({ slice: z.coerce.number().int().min(0).optional() }),
  },
  responses: { 200: { description: "SVG", content: { "image/svg+xml": { schema: z.string() } } }, ...errorResponses, ...notFoundResponse },
});

export function plotRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(esdRoute, async (c) => {
    const { id, name } = c.req.valid("param");
    const { slice } = c.req.valid("query");
    const row = await getAnalysis(c.env.DB, id);
    const report = row === null || row.status !== "done" ? null : await readReport(c.env.REPORTS, row);
    if (report === null) throw new ApiError(404, "not_found", `analysis ${id} has no report`);
    const record = report.layers.find((layer) => layer.name === name && (slice === undefined || layer.slice_id === slice));
    if (record === undefined) throw new ApiError(404, "not_found", `analysis ${id} has no analyzed layer named ${JSON.stringify(name)}`);
    const svg = renderEsdSvg(await withEvals(c.env.REPORTS, id, record));
    return c.body(svg, 200, { "content-type": "image/svg+xml; charset=utf-8" });
  });
}
