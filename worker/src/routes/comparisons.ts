/**
 * POST /v1/comparisons: two analyses (by id, or by source, analyzed first) -> core comparison and
 * verdict, under the default policy or the one in the body.
 */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { compareReports, POLICY_SCHEMA, resolvePolicy, type PolicyOverrides } from "../../../core/compare/index.js";
import type { Report } from "../../../core/report.js";
import { startAnalysis } from "../analysis/start.js";
import type { Env } from "../env.js";
import { ApiError } from "../http/api-error.js";
import { bearerSecurity, errorResponses, ErrorSchema, notFoundResponse, SourceSchema } from "../http/schemas.js";
import { getAnalysis, readReport } from "../storage/analyses.js";
import { withJsonNumbers } from "../../../core/json.js";

const SideSchema = z.union([z.object({ analysis_id: z.string().uuid() }).strict(), SourceSchema]).openapi("ComparisonSide");

// The policy file's JSON Schema (the CLI's, validated there with ajv) turned into a zod schema:
// ajv compiles validators into functions at run time, which workerd refuses; zod interprets.
const PolicySchema = (z.fromJSONSchema(POLICY_SCHEMA as unknown as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType<PolicyOverrides>).openapi(
  "Policy",
  { description: "Overrides of the default regression policy (docs/policy.md); every field optional, nothing unknown." },
);

const compareRoute = createRoute({
  method: "post",
  path: "/v1/comparisons",
  summary: "Compare two analyses (base, head): per-layer deltas and a pass/warn/fail verdict.",
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ base: SideSchema, head: SideSchema, policy: PolicySchema.optional() }).strict().openapi("ComparisonRequest") } },
    },
  },
  responses: {
    200: { description: "The comparison (core Comparison JSON)", content: { "application/json": { schema: z.unknown() } } },
    ...errorResponses,
    ...notFoundResponse,
    409: { description: "An analysis is not done yet", content: { "application/json": { schema: ErrorSchema } } },
  },
});

type Side = z.infer<typeof SideSchema>;

async function reportOf(env: Env, side: Side, label: string): Promise<Report> {
  let id: string;
  if ("analysis_id" in side) {
    id = side.analysis_id;
  } else {
    const source = "r2_key" in side ? { kind: "r2" as const, key: side.r2_key } : { kind: "url" as const, url: side.url };
    id = (await startAnalysis(env, { source, options: {} })).row.id;
  }
  const row = await getAnalysis(env.DB, id);
  if (row === null) throw new ApiError(404, "not_found", `${label}: analysis ${id} does not exist`);
  const report = row.status === "done" ? await readReport(env.REPORTS, row) : null;
  if (report === null) throw new ApiError(409, "not_ready", `${label}: analysis ${id} is ${row.status}; compare when it is done`);
  return report;
}

export function comparisonRoutes(app: OpenAPIHono<{ Bindings: Env }>): void {
  app.openapi(compareRoute, async (c) => {
    const { base, head, policy } = c.req.valid("json");
    // Checked before any analysis starts: a policy that makes no sense is a 400, not wasted work.
    const resolved = resolvePolicy(policy ?? {});
    const comparison = compareReports(await reportOf(c.env, base, "base"), await reportOf(c.env, head, "head"), resolved);
    return c.json(withJsonNumbers(comparison) as unknown, 200);
  });
}
