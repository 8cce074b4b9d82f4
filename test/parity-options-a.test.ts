/**
 * Parity with weightwatcher 0.7.5.5 (compat "ww") on the oracle presets of randomize, mp_fit,
 * fix_fingers='clip_xmax', detX, inverse, glorot_fix, ww2x, start_ids and svd_method, for every
 * case. Tolerances (oracle README "Tolerances"): randomized eigenvalues 1e-13·max, max_rand_eval,
 * rand_distance, ww_softrank, ww_maxdist 1e-9, rand_num_spikes exact, rand_W_scale 1e-12; MP-fit
 * columns 1e-6 (num_spikes exact, W_scale 1e-12); detX and raw_alpha 1e-9 (closed forms); inverse:
 * 1e-13·λmax/λmin relative (every column there is dominated by the smallest eigenvalues).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzeOptions, LayerRecord, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import {
  analyzeOracleCase, expectClose as close, expectEvalsMatch, expectRowMatches, expectSummaryMatches, goldenEvals,
  goldenNumber, oracleCases, readGolden, type Golden, type GoldenRow,
} from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared } from "./shared.js";

const PLAIN_PRESETS = ["glorot_fix", "ww2x", "start_ids_1", "svd_method_fast", "svd_method_accurate", "fix_fingers_clip_xmax", "detX", "mp_fit", "randomize"];

let kernel: SpectralKernel;

/** The analyze() options of these presets' weightwatcher kwargs. */
function optionsOf(kwargs: Record<string, unknown>): Partial<AnalyzeOptions> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(kwargs)) {
    if (!["randomize", "mp_fit", "fix_fingers", "detX", "inverse", "glorot_fix", "ww2x", "start_ids", "svd_method"].includes(key)) {
      throw new Error(`kwarg ${key} is not one of this suite's options`);
    }
    options[key] = value;
  }
  return options as Partial<AnalyzeOptions>;
}

function run(caseName: string, options: Partial<AnalyzeOptions>): Promise<Report> {
  return analyzeOracleCase(caseName, options, kernel);
}

function rowFor(report: Report, g: GoldenRow): LayerRecord {
  const row = report.layers.find((r) => r.layer_id === g.layer_id && (r.slice_id ?? null) === (g.slice_id ?? null));
  expect(row, `row ${String(g.layer_id)}#${String(g.slice_id)}`).toBeDefined();
  return row!;
}

function expectArrayClose(actual: readonly number[] | undefined, golden: readonly number[], what: string): void {
  expect(actual?.length, `${what} length`).toBe(golden.length);
  const max = Math.max(...golden);
  let worst = 0;
  for (let i = 0; i < golden.length; i++) worst = Math.max(worst, Math.abs(actual![i]! - golden[i]!));
  expect(worst, `${what} worst error`).toBeLessThanOrEqual(1e-13 * max);
}

const MP_COLUMNS = ["sigma_mp", "mp_softrank", "bulk_max", "bulk_min"] as const;

function expectOptionColumns(row: LayerRecord, g: GoldenRow, golden: Golden, where: string): void {
  const record = row as unknown as Record<string, number | null | undefined>;
  const num = (column: string): number => goldenNumber(g[column]);
  if ("num_spikes" in g) {
    expect(row.num_spikes, `${where} num_spikes`).toBe(g.num_spikes);
    for (const column of MP_COLUMNS) close(record[column], num(column), 1e-6, `${where} ${column}`);
    close(row.W_scale, num("W_scale"), 1e-12, `${where} W_scale`);
  }
  if ("rand_num_spikes" in g) {
    expect(row.rand_num_spikes, `${where} rand_num_spikes`).toBe(g.rand_num_spikes);
    for (const column of ["max_rand_eval", "rand_distance", "ww_softrank", "ww_maxdist"]) close(record[column], num(column), 1e-9, `${where} ${column}`);
    for (const column of MP_COLUMNS) close(record[`rand_${column}`], num(`rand_${column}`), 1e-6, `${where} rand_${column}`);
    close(row.rand_W_scale, num("rand_W_scale"), 1e-12, `${where} rand_W_scale`);
    // Both draws of weightwatcher's random ESD: the replicated one, then the single one.
    const draws = (golden as unknown as { rand_evals: Record<string, Array<{ num_replicas: number; evals: number[] }>> }).rand_evals[String(g.layer_id)]!;
    expect(draws.map((d) => d.num_replicas), `${where} replicas`).toEqual([row.num_evals < 100 ? 5 : 1, 1]);
    expectArrayClose(row.rand_evals, draws[0]!.evals, `${where} rand_evals (replicated)`);
    expectArrayClose(row.rand_evals_distance, draws[1]!.evals, `${where} rand_evals (single)`);
    expect(row.traps?.length, `${where} traps listed`).toBe(g.rand_num_spikes);
  }
  if ("num_fingers" in g) {
    expect(row.num_fingers, `${where} num_fingers`).toBe(g.num_fingers);
    close(row.raw_alpha, num("raw_alpha"), 1e-9, `${where} raw_alpha`);
  }
  if ("detX_num" in g) {
    expect(row.detX_num, `${where} detX_num`).toBe(g.detX_num);
    close(row.detX_val, num("detX_val"), 1e-9, `${where} detX_val`);
    close(row.detX_val_unrescaled, num("detX_val_unrescaled"), 1e-9, `${where} detX_val_unrescaled`);
  }
}

describe.skipIf(!hasShared)("parity with weightwatcher 0.7.5.5: analysis options (part A)", () => {
  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
  });

  const cases = hasShared ? oracleCases() : [];
  for (const preset of PLAIN_PRESETS) {
    describe(preset, () => {
      for (const caseName of cases) {
        it(`${caseName} (compat ww)`, async () => {
          const golden = readGolden(caseName, preset);
          const where = `${caseName}/${preset}`;
          expect(golden.error, `${where}: golden is an error record`).toBeNull();
          const report = await run(caseName, { ...optionsOf(golden.kwargs), compat: "ww" });
          expect(report.layers.map((r) => [r.layer_id, r.name, r.slice_id ?? null]), `${where} rows`).toEqual(
            golden.details.map((g) => [g.layer_id, g.name, g.slice_id ?? null]),
          );
          for (const g of golden.details) {
            const row = rowFor(report, g);
            const label = `${where} layer ${String(g.layer_id)}${g.slice_id === undefined || g.slice_id === null ? "" : `#${String(g.slice_id)}`}`;
            expectRowMatches(row, g, label);
            expectEvalsMatch(row.evals, goldenEvals(golden, g.layer_id as number, (g.slice_id as number | null) ?? 0), label);
            expectOptionColumns(row, g, golden, label);
          }
          expectSummaryMatches(report.summary, golden.summary, where);
          if ("mp_softrank" in golden.summary) close(report.summary.mp_softrank, goldenNumber(golden.summary.mp_softrank), 1e-6, `${where} summary mp_softrank`);
          else expect(report.summary.mp_softrank, `${where} summary mp_softrank`).toBeUndefined();
        });
      }
    });
  }

  describe("inverse", () => {
    for (const caseName of cases) {
      it(`${caseName} (compat ww)`, async () => {
        const golden = readGolden(caseName, "inverse");
        const where = `${caseName}/inverse`;
        const report = await run(caseName, { inverse: true, compat: "ww" });
        expect(report.layers.length, `${where} rows`).toBe(golden.details.length);
        for (const g of golden.details) {
          const row = rowFor(report, g);
          const label = `${where} layer ${String(g.layer_id)}`;
          // Columns of W itself, and counts, are exact or at the usual tolerances.
          expectRowMatches(row, g, label, ["layer_id", "name", "N", "M", "rf", "num_evals", "rank_loss", "matrix_rank", "weak_rank_loss", "sv_max", "status", "has_esd"]);
          const svMin = goldenNumber(g.sv_min);
          expect(Math.abs(row.sv_min ** 2 - svMin ** 2), `${label} sv_min`).toBeLessThanOrEqual(1e-13 * row.sv_max ** 2);
          const evals = goldenEvals(golden, g.layer_id as number).filter((v) => Number.isFinite(v));
          if (row.rank_loss > 0) {
            // spec §15.10: weightwatcher inverts its SVD's zeros (0 → +∞, ~1e-32 → ~1e31 … 1e63), which a
            // Gram kernel's exact zeros reproduce only as +∞: the infinite norms match, the fit does not.
            expect(row.lambda_max, `${label} lambda_max`).toBe(Infinity);
            expect(row.norm, `${label} norm`).toBe(goldenNumber(g.norm));
            expect(row.log_norm, `${label} log_norm`).toBe(goldenNumber(g.log_norm));
            continue;
          }
          // Every inverted eigenvalue carries the Gram error k·λmax(original)/λ² : relative 1e-13·λmax/λmin.
          const original = evals.map((v) => 1 / v);
          const rel = (1e-13 * Math.max(...original)) / Math.min(...original);
          for (const column of ["lambda_max", "norm", "stable_rank", "alpha", "D", "xmin", "xmax", "sigma", "entropy", "log_norm", "log_spectral_norm", "alpha_weighted", "log_alpha_norm"]) {
            close((row as unknown as Record<string, number>)[column], goldenNumber(g[column]), Math.max(rel, 1e-9), `${label} ${column}`, 1e-12);
          }
          expect(row.num_pl_spikes, `${label} num_pl_spikes`).toBe(g.num_pl_spikes);
          expect(row.warning, `${label} warning`).toBe(g.warning);
          const ours = row.evals!;
          let worst = 0;
          for (let i = 0; i < evals.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - evals[i]!) / evals[i]!);
          expect(worst, `${label} inverted eigenvalues (relative)`).toBeLessThanOrEqual(Math.max(rel, 1e-12));
        }
      });
    }
  });
});

if (!hasShared) requireShared("weightwatcher parity tests of the analysis options (part A)");
