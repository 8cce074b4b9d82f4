/**
 * The HTTP API: Hono with @hono/zod-openapi routes (validated bodies, the OpenAPI document from
 * the same definitions). Every route but /health and /openapi.json needs a bearer API key; every
 * error is a JSON body.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { VERSION } from "../../core/version.js";
import type { Env } from "./env.js";
import { errorBody, respondWithError } from "./http/api-error.js";
import { requireApiKey } from "./http/auth.js";
import { analysisRoutes } from "./routes/analyses.js";
import { comparisonRoutes } from "./routes/comparisons.js";
import { modelRoutes } from "./routes/models.js";
import { objectRoutes } from "./routes/objects.js";
import { plotRoutes } from "./routes/plots.js";
import { seriesRoutes } from "./routes/series.js";

/** One line per validation issue: where, and what is wrong. */
function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, target: string): string {
  return issues
    .map((issue) => `${[target, ...issue.path.map(String)].join(".")}: ${issue.message}`)
    .join("; ");
}

/** `{name{regex}}` (Hono's regex parameters) shown as `{name}` in the OpenAPI document. */
function plainPathParameters(path: string): string {
  return path.replace(/\{(\w+)\{[^/]*\}\}/g, "{$1}");
}

export function createApp(): OpenAPIHono<{ Bindings: Env }> {
  const app = new OpenAPIHono<{ Bindings: Env }>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(errorBody("bad_request", describeIssues(result.error.issues, result.target)), 400);
      }
      return undefined;
    },
  });
  app.onError(respondWithError);
  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

  app.get("/health", (c) => c.json({ status: "ok", version: VERSION }));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.get("/openapi.json", (c) => {
    const document = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "alphawatch API", version: VERSION, description: "Weight-spectrum analysis of models in R2 or at HTTPS URLs." },
    });
    const paths = Object.fromEntries(Object.entries(document.paths ?? {}).map(([path, item]) => [plainPathParameters(path), item]));
    return c.json({ ...document, paths });
  });

  app.use("/v1/*", requireApiKey());
  analysisRoutes(app);
  plotRoutes(app);
  comparisonRoutes(app);
  objectRoutes(app);
  modelRoutes(app);
  seriesRoutes(app);
  return app;
}
