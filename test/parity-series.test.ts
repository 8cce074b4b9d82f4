/**
 * Parity with weightwatcher 0.7.5.5 on real checkpoints: ../shared/models/series/ww-0.7.5.5-layers.tsv
 * lists WW's rows for the series files, read by WW itself (float32 route), so compat "ww-file".
 * The tsv's layer_id comes from WW's module route (ids 1..); rows are matched by layer name.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { expectRowMatches, type GoldenRow } from "./golden.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

/** Every checkpoint weightwatcher's table lists (epochs, batch sizes, depths, formats/*). */
function tableFiles(): string[] {
  if (!hasShared) return [];
  const lines = readFileSync(sharedPath("models", "series", "ww-0.7.5.5-layers.tsv"), "utf8").split("\n").slice(1);
  return [...new Set(lines.filter((l) => l !== "").map((l) => l.split("\t")[0]!))];
}
const FILES = tableFiles();

const COLUMNS = [
  "name", "layer_type", "N", "M", "rf", "num_evals", "alpha", "D", "xmin", "xmax", "lambda_max",
  "num_pl_spikes", "alpha_weighted", "log_norm", "log_spectral_norm", "log_alpha_norm",
  "stable_rank", "matrix_rank", "status", "warning", "sigma",
];

const TEXT_COLUMNS = new Set(["file", "layer", "layer_type", "status", "warning"]);

function readTable(): Map<string, GoldenRow[]> {
  const lines = readFileSync(sharedPath("models", "series", "ww-0.7.5.5-layers.tsv"), "utf8").split("\n").filter((l) => l !== "");
  const header = lines[0]!.split("\t");
  const byFile = new Map<string, GoldenRow[]>();
  for (const line of lines.slice(1)) {
    const cells = line.split("\t");
    const row: GoldenRow = {};
    header.forEach((column, i) => {
      const cell = cells[i] ?? "";
      row[column] = TEXT_COLUMNS.has(column) ? cell : Number(cell);
    });
    row.name = row.layer!;
    const file = row.file as string;
    byFile.set(file, [...(byFile.get(file) ?? []), row]);
  }
  return byFile;
}

describe.skipIf(!hasShared)("parity with weightwatcher 0.7.5.5 on the trained series (file route)", () => {
  let kernel: SpectralKernel;
  let table: Map<string, GoldenRow[]>;
  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
    table = readTable();
  });

  for (const file of FILES) {
    it(file, async () => {
      const rows = table.get(file);
      expect(rows, `${file} rows in the tsv`).toBeDefined();
      const bytes = new Uint8Array(readFileSync(sharedPath("models", "series", file)));
      const report = await analyze(bytesSource(bytes, file), { compat: "ww-file" }, { kernel, hashSource: false });
      expect(report.layers.map((r) => r.name).sort()).toEqual(rows!.map((r) => r.name).sort());
      for (const golden of rows!) {
        const row = report.layers.find((r) => r.name === golden.name)!;
        expectRowMatches(row, golden, `${file} ${String(golden.name)}`, COLUMNS);
      }
    });

    // The default mode reads the stored float32 values as they are; only conv2d slices differ
    // from weightwatcher's, which scales them in float32 (spec §13): 1e-6 there, 1e-9 elsewhere.
    it(`${file} (default mode: the fit columns)`, async () => {
      const rows = table.get(file)!;
      const bytes = new Uint8Array(readFileSync(sharedPath("models", "series", file)));
      const report = await analyze(bytesSource(bytes, file), {}, { kernel, hashSource: false });
      for (const golden of rows) {
        const row = report.layers.find((r) => r.name === golden.name)!;
        const tolerance = row.layer_type === "conv2d" ? 1e-6 : 1e-9;
        for (const column of ["alpha", "D", "xmin", "sigma"] as const) {
          const expected = golden[column] as number;
          expect(Math.abs(row[column]! - expected) / Math.abs(expected), `${file} ${row.name} ${column}`).toBeLessThanOrEqual(tolerance);
        }
        expect(row.num_pl_spikes).toBe(golden.num_pl_spikes);
        expect(row.warning).toBe(golden.warning);
      }
    });
  }
});

if (!hasShared) requireShared("weightwatcher parity tests on the trained series");
