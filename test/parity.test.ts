/**
 * Parity with weightwatcher 0.7.5.5 on the oracle (../shared/oracle): every case, the presets of
 * the default analysis, in compat "ww" (dict route, float64) and "ww-file" (file route, float32).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzeOptions, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import {
  analyzeOracleCase, expectEvalsMatch, expectRowMatches, expectSummaryMatches, goldenEvals, oracleCases,
  optionsFromKwargs, readGolden, type Golden,
} from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared } from "./shared.js";

const PRESETS = [
  "default", "min_evals_0", "min_evals_150", "max_evals_200", "max_N_500",
  "tolerance_1e-3", "xmax_clip2", "pool_false", "conv2d_norm_false",
];

let kernel: SpectralKernel;

function run(caseName: string, options: Partial<AnalyzeOptions>): Promise<Report> {
  return analyzeOracleCase(caseName, options, kernel);
}

function expectReportMatches(report: Report, golden: Golden, byName: boolean): void {
  const where = `${golden.case}/${golden.preset}`;
  expect(golden.error, `${where}: golden is an error record`).toBeNull();
  expect(report.layers.map((r) => [r.layer_id, r.name, r.slice_id ?? null]), `${where} rows`).toEqual(
    golden.details.map((g) => [g.layer_id, g.name, g.slice_id ?? null]),
  );
  for (const g of golden.details) {
    const row = byName
      ? report.layers.find((r) => r.name === g.name && (r.slice_id ?? null) === (g.slice_id ?? null))!
      : report.layers.find((r) => r.layer_id === g.layer_id && (r.slice_id ?? null) === (g.slice_id ?? null))!;
    const label = `${where} layer ${String(g.layer_id)} ${String(g.name)}${g.slice_id === undefined || g.slice_id === null ? "" : `#${String(g.slice_id)}`}`;
    expectRowMatches(row, g, label);
    expectEvalsMatch(row.evals, goldenEvals(golden, g.layer_id as number, (g.slice_id as number | null) ?? 0), label);
  }
  expectSummaryMatches(report.summary, golden.summary, where);
}

describe.skipIf(!hasShared)("parity with weightwatcher 0.7.5.5 goldens", () => {
  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
  });

  const cases = hasShared ? oracleCases() : [];
  for (const caseName of cases) {
    describe(caseName, () => {
      for (const preset of PRESETS) {
        it(`${preset} (compat ww)`, async () => {
          const golden = readGolden(caseName, preset);
          const report = await run(caseName, { ...optionsFromKwargs(golden.kwargs), compat: "ww" });
          expectReportMatches(report, golden, false);
        });
      }
      it("default__file (compat ww-file: ids from 0, float32)", async () => {
        const golden = readGolden(caseName, "default__file");
        const report = await run(caseName, { ...optionsFromKwargs(golden.kwargs), compat: "ww-file" });
        expectReportMatches(report, golden, true);
      });
    });
  }
});

if (!hasShared) requireShared("weightwatcher parity tests (oracle goldens)");
