/**
 * weightwatcher 0.7.5.5's get_summary() on every trained checkpoint of ../shared/models/series
 * (ww-0.7.5.5-summary.tsv: WW reading each file itself, the float32 route, so compat "ww-file"):
 * 1e-9 relative for the MLPs, 1e-6 for the CNN (spec §13, conv rows). Also the reliable mean
 * beside it: the README's "alpha (layers >= 50 evals)" column.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const MEANS = ["alpha", "alpha_weighted", "log_norm", "log_spectral_norm", "log_alpha_norm", "stable_rank"] as const;

interface SummaryRow {
  file: string;
  n_layers: number;
  values: Record<(typeof MEANS)[number], number>;
}

function readSummaryTable(): SummaryRow[] {
  const [head, ...lines] = readFileSync(sharedPath("models", "series", "ww-0.7.5.5-summary.tsv"), "utf8").split("\n").filter((l) => l !== "");
  const header = head!.split("\t");
  return lines.map((line) => {
    const cells = line.split("\t");
    const cell = (name: string): string => cells[header.indexOf(name)]!;
    return {
      file: cell("file"),
      n_layers: Number(cell("n_layers")),
      values: Object.fromEntries(MEANS.map((m) => [m, Number(cell(m))])) as SummaryRow["values"],
    };
  });
}

/** The README's supplementary column "alpha (layers >= 50 evals)", 3 decimals. */
function readReliableAlphas(): Map<string, string> {
  const readme = readFileSync(sharedPath("models", "series", "README.md"), "utf8");
  const result = new Map<string, string>();
  for (const match of readme.matchAll(/^\| ([\w/.]+\.safetensors) \| [\d.]+ \| (?:[-\d.]+ \| ){6}([\d.]+) \|$/gm)) result.set(match[1]!, match[2]!);
  return result;
}

describe.skipIf(!hasShared)("weightwatcher 0.7.5.5 summaries of the trained series (compat ww-file)", () => {
  let kernel: SpectralKernel;
  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
  });
  const rows = hasShared ? readSummaryTable() : [];
  const reliable = hasShared ? readReliableAlphas() : new Map<string, string>();

  it("reads every checkpoint of the table and the README's reliable column", () => {
    expect(rows.length).toBe(22);
    expect(reliable.size).toBe(22);
  });

  for (const row of rows) {
    it(row.file, async () => {
      const bytes = new Uint8Array(readFileSync(sharedPath("models", "series", row.file)));
      const report = await analyze(bytesSource(bytes, row.file), { compat: "ww-file" }, { kernel, hashSource: false });
      expect(report.summary.num_layers).toBe(row.n_layers);
      const rel = row.file.includes("cnn") ? 1e-6 : 1e-9;
      for (const mean of MEANS) {
        const expected = row.values[mean];
        const actual = report.summary[mean]!;
        expect(Math.abs(actual - expected), `${row.file} ${mean}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected));
      }
      expect(report.summary.reliable_alpha!.toFixed(3), `${row.file} reliable alpha`).toBe(reliable.get(row.file));
    });
  }
});

if (!hasShared) requireShared("weightwatcher summaries of the trained series");
