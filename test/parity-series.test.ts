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

const FILES = [
  "mlp_epochs/run_ep0000.safetensors",
  "mlp_epochs/run_ep0010.safetensors",
  "mlp_epochs/run_ep0100.safetensors",
  "mlp_batchsize/bs0016.safetensors",
  "mlp_batchsize/bs1024.safetensors",
  "mlp_depth/depth1.safetensors",
  "mlp_depth/depth5.safetensors",
  "formats/mlp.safetensors",
  "formats/cnn.safetensors",
];

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
  }
});

if (!hasShared) requireShared("weightwatcher parity tests on the trained series");
