/**
 * Parity with weightwatcher 0.7.5.5 (compat "ww") on the oracle presets of the second fitter
 * (pl_package='powerlaw': the powerlaw package 1.5's conventions, spec §7.2), the truncated power
 * law, xmax='force', fix_fingers='xmin_peak' and xmin_max, for every case.
 * Tolerances (oracle README): closed forms 1e-9; TPL/E_TPL 1e-6 on alpha, Lambda and D (Lambda
 * absolute 1e-6/xmin where Λ·xmin < 1e-6), same xmin.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../core/errors.js";
import type { AnalyzeOptions, LayerRecord, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import {
  analyzeOracleCase, expectClose as relClose, expectEvalsMatch, expectRowMatches, goldenEvals, goldenNumber,
  oracleCases, SUMMARY_KEYS, readGolden, type Golden, type GoldenRow,
} from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared } from "./shared.js";

const CLOSED_FORM_PRESETS = ["pl_package_powerlaw", "xmax_force", "fix_fingers_xmin_peak", "fix_fingers_xmin_peak_powerlaw", "xmin_max", "fix_fingers_clip_xmax_powerlaw"];
const TPL_PRESETS = ["tpl_powerlaw", "e_tpl_powerlaw"];

let kernel: SpectralKernel;

/** The analyze() options of one of these presets' weightwatcher kwargs. */
function optionsOf(kwargs: Record<string, unknown>): Partial<AnalyzeOptions> {
  const options: Partial<AnalyzeOptions> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    switch (key) {
      case "pl_package": options.pl_package = value as AnalyzeOptions["pl_package"]; break;
      case "fit": options.fit = value as AnalyzeOptions["fit"]; break;
      case "xmax": options.xmax = value as AnalyzeOptions["xmax"]; break;
      case "fix_fingers": options.fix_fingers = value as AnalyzeOptions["fix_fingers"]; break;
      case "xmin_max": options.xmin_max = value as number; break;
      default: throw new Error(`kwarg ${key} is not one of this suite's options`);
    }
  }
  return options;
}

function run(caseName: string, options: Partial<AnalyzeOptions>): Promise<Report> {
  return analyzeOracleCase(caseName, options, kernel);
}

function rowOf(report: Report, g: GoldenRow): LayerRecord {
  return report.layers.find((r) => r.layer_id === g.layer_id)!;
}

const TPL_LOOSE = new Set(["alpha", "D", "alpha_weighted", "log_alpha_norm"]);

function expectTplRow(row: LayerRecord, g: GoldenRow, where: string): void {
  const columns = Object.keys(g).filter((c) => !TPL_LOOSE.has(c));
  expectRowMatches(row, g, where, columns);
  if (g.status === "failed") {
    expect(row.alpha, `${where} alpha`).toBe(-1);
    expect(row.Lambda, `${where} Lambda`).toBe(-1);
    return;
  }
  for (const column of ["alpha", "D"] as const) relClose(row[column], goldenNumber(g[column]), 1e-6, `${where} ${column}`);
  // alpha_weighted and log_alpha_norm move with alpha (spec §13).
  for (const column of ["alpha_weighted", "log_alpha_norm"] as const) relClose(row[column], goldenNumber(g[column]), 1e-6, `${where} ${column}`, 1e-6);
  const xmin = goldenNumber(g.xmin);
  relClose(row.Lambda, goldenNumber(g.Lambda), 1e-6, `${where} Lambda`, 1e-6 / xmin);
  expect(row.sigma, `${where} sigma`).toBeNull();
}

describe.skipIf(!hasShared)("parity with weightwatcher 0.7.5.5: pl_package powerlaw, TPL, xmax force, xmin_peak", () => {
  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
  });

  const cases = hasShared ? oracleCases() : [];
  for (const preset of [...CLOSED_FORM_PRESETS, ...TPL_PRESETS]) {
    describe(preset, () => {
      for (const caseName of cases) {
        it(`${caseName} (compat ww)`, async () => {
          const golden: Golden = readGolden(caseName, preset);
          expect(golden.error, `${caseName}/${preset}: golden is an error record`).toBeNull();
          const report = await run(caseName, { ...optionsOf(golden.kwargs), compat: "ww" });
          expect(report.layers.map((r) => r.layer_id), `${caseName}/${preset} rows`).toEqual(golden.details.map((g) => g.layer_id));
          const tpl = TPL_PRESETS.includes(preset);
          for (const g of golden.details) {
            const row = rowOf(report, g);
            const where = `${caseName}/${preset} layer ${String(g.layer_id)}`;
            if (tpl) expectTplRow(row, g, where);
            else expectRowMatches(row, g, where);
            expectEvalsMatch(row.evals, goldenEvals(golden, g.layer_id as number), where);
          }
          if (tpl) {
            for (const key of ["log_norm", "log_spectral_norm", "stable_rank"] as const) {
              if (key in golden.summary) relClose(report.summary[key], goldenNumber(golden.summary[key]!), 1e-12, `${caseName}/${preset} summary ${key}`);
            }
            for (const key of ["alpha", "alpha_weighted", "log_alpha_norm"] as const) {
              if (key in golden.summary) relClose(report.summary[key], goldenNumber(golden.summary[key]!), 1e-6, `${caseName}/${preset} summary ${key}`, 1e-6);
            }
          } else {
            // Σ 1/λ of a failed fit is dominated by the smallest eigenvalue (README: 1e-13·λ_max/λ_min).
            const failedRel = Math.max(0, ...report.layers.filter((r) => r.status === "failed").map((r) => {
              const positive = (r.evals ?? []).filter((v) => v > 0);
              return (1e-13 * r.lambda_max) / Math.min(...positive);
            }));
            for (const key of SUMMARY_KEYS) {
              expect(key in golden.summary, `${caseName}/${preset} summary ${key}`).toBe(report.summary[key] !== undefined);
              if (!(key in golden.summary)) continue;
              const rel = key === "alpha" ? 1e-9 : key === "log_alpha_norm" ? Math.max(1e-12, failedRel) : 1e-12;
              relClose(report.summary[key], goldenNumber(golden.summary[key]!), rel, `${caseName}/${preset} summary ${key}`, 1e-12);
            }
          }
        }, 60_000);
      }
    });
  }

  describe("fit_TPL (fit TPL with weightwatcher's own fitter)", () => {
    for (const caseName of cases) {
      it(`${caseName}: refused in compat ww, as weightwatcher's "params not valid"`, async () => {
        const golden = readGolden(caseName, "fit_TPL");
        expect(golden.error).toMatch(/params not valid/);
        await expect(run(caseName, { fit: "TPL", compat: "ww" })).rejects.toThrow(UsageError);
        await expect(run(caseName, { fit: "TPL", compat: "ww" })).rejects.toThrow(/option fit: TPL needs pl_package "powerlaw"/);
      });
    }
    it("runs the truncated power law by default, with the tpl_powerlaw goldens' numbers", async () => {
      for (const caseName of ["gaussian_300x300", "pareto_500x500", "real_mlp"]) {
        const golden = readGolden(caseName, "tpl_powerlaw");
        const report = await run(caseName, { fit: "TPL" });
        for (const g of golden.details) {
          const row = rowOf(report, g);
          const where = `${caseName} default fit TPL layer ${String(g.layer_id)}`;
          expect(row.status).toBe("success");
          relClose(row.alpha, goldenNumber(g.alpha), 1e-6, `${where} alpha`);
          relClose(row.D, goldenNumber(g.D), 1e-6, `${where} D`);
          relClose(row.xmin, goldenNumber(g.xmin), 1e-9, `${where} xmin`);
          relClose(row.Lambda, goldenNumber(g.Lambda), 1e-6, `${where} Lambda`, 1e-6 / goldenNumber(g.xmin));
          // Corrected conventions (§15.47, §15.48): xmax = largest fitted value, no sigma, no PL warning.
          expect(row.xmax).toBe(row.lambda_max);
          expect(row.sigma).toBeNull();
          expect(row.warning).toBe("");
          expect(row.fit_at_boundary).toBe(goldenNumber(g.alpha) - 1 < 1e-3);
        }
      }
    }, 60_000);
  });
});

if (!hasShared) requireShared("weightwatcher parity tests of pl_package powerlaw, TPL, xmax force, xmin_peak");
