/**
 * Every report alphawatch writes validates against docs/report.schema.json (strict: no property
 * the schema does not name), whatever the options: the schema is the contract of the JSON.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { ValidateFunction } from "ajv";
import type { AnalyzeOptions } from "../core/report.js";
import { jsonNumbers } from "../core/json.js";
import { hasShared, repoRoot, requireShared, sharedPath } from "./shared.js";
import { analyzeModel } from "./model-analysis.js";

const example = path.join(repoRoot, "examples", "mlp-784-300-100-10.safetensors");
let validate: ValidateFunction;

beforeAll(() => {
  const schema = JSON.parse(readFileSync(path.join(repoRoot, "docs", "report.schema.json"), "utf8")) as object;
  validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
});

async function expectValid(target: string, options: Partial<AnalyzeOptions>): Promise<void> {
  const report = await analyzeModel(target, options);
  const json = JSON.parse(JSON.stringify(report, jsonNumbers)) as unknown;
  const ok = validate(json);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

describe("docs/report.schema.json", () => {
  it("accepts the default report", () => expectValid(example, {}));
  it("accepts a weightwatcher-compatible report", () => expectValid(example, { compat: "ww" }));
  it("accepts a report with every option's columns", () =>
    expectValid(example, { randomize: true, mp_fit: true, detX: true, fix_fingers: "clip_xmax", fit_diagnostics: true, pool: false }));

  it("rejects a report with an unknown column or a missing one", async () => {
    const report = JSON.parse(JSON.stringify(await analyzeModel(example, {}), jsonNumbers)) as { layers: Array<Record<string, unknown>> };
    report.layers[0]!["alpha_hat"] = 1;
    expect(validate(report)).toBe(false);
    delete report.layers[0]!["alpha_hat"];
    delete report.layers[0]!["alpha"];
    expect(validate(report)).toBe(false);
  });
});

describe.skipIf(!hasShared)("docs/report.schema.json on reference cases", () => {
  requireShared("report schema checks on oracle cases");
  it("accepts failed fits and infinities (rank-deficient, compat ww)", () =>
    expectValid(sharedPath("oracle", "cases", "rank_deficient_300x200.safetensors"), { compat: "ww", xmax: -2 }));
  it("accepts TPL rows and conv2d", () =>
    expectValid(sharedPath("oracle", "cases", "mixed_model.safetensors"), { fit: "TPL" }));
});
