/**
 * The checks on the real trained families in ../shared/models/series, labelled by index.tsv:
 * weightwatcher's plain mean alpha (compat "ww-file") reproduces its Spearman values; the reliable mean
 * alpha (default mode) tracks accuracy on mlp_epochs and mlp_batchsize; mlp_depth is within noise;
 * grouping by series follows the Simpson rule.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { CompatMode, Report } from "../core/report.js";
import type { SpectralKernel } from "../core/spectral/kernel.js";
import { SERIES_METRICS, analyzeSeries, findLabelRow, numericCell, parseLabelTable, type SeriesInput, type SeriesResult } from "../core/series/index.js";
import { testKernel } from "./reference-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

requireShared("the series tests on real checkpoints");

const TARGET = { column: "test_acc", better: "higher", kind: "proportion" } as const;

describe.skipIf(!hasShared)("series on ../shared/models/series", () => {
  let kernel: SpectralKernel;
  const reports = new Map<string, Report>();
  let inputs: (compat: CompatMode) => Promise<SeriesInput[]>;

  beforeAll(async () => {
    kernel = (await testKernel()).kernel;
    const table = parseLabelTable(readFileSync(sharedPath("models", "series", "index.tsv"), "utf8"), "index.tsv");
    const bytesByFile = new Map(table.rows.map((row) => [row["file"]!, new Uint8Array(readFileSync(sharedPath("models", "series", row["file"]!)))]));
    inputs = async (compat) => {
      const result: SeriesInput[] = [];
      for (const row of table.rows) {
        const file = row["file"]!;
        const key = `${compat}:${file}`;
        if (!reports.has(key)) reports.set(key, await analyze(bytesSource(bytesByFile.get(file)!, file), { compat }, { kernel }));
        const label = findLabelRow(file, table)!;
        result.push({
          file,
          report: reports.get(key)!,
          target: numericCell(label, "test_acc", table),
          test_size: numericCell(label, "test_size", table),
          group: label["series"]!,
        });
      }
      return result;
    };
  });

  const bySeries = async (compat: CompatMode): Promise<SeriesResult> => analyzeSeries(await inputs(compat), { target: TARGET, group_column: "series" });

  it("weightwatcher's plain mean alpha (ww-file) matches its summary and gives its Spearman values", async () => {
    const result = await bySeries("ww-file");
    const summary = readFileSync(sharedPath("models", "series", "ww-0.7.5.5-summary.tsv"), "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
    for (const c of result.checkpoints) {
      const row = summary.find((cells) => cells[0] === c.file)!;
      expect(c.summary.ww_alpha! / Number(row[5]) - 1, c.file).toBeCloseTo(0, 9);
    }
    const groups = result.groups!.by_group;
    expect(groups["mlp_epochs"]!.metrics.ww_alpha.spearman).toBeCloseTo(1 / 3, 9);
    expect(groups["mlp_batchsize"]!.metrics.ww_alpha.spearman).toBeCloseTo(1, 9);
    expect(groups["mlp_depth"]!.metrics.ww_alpha.spearman).toBeCloseTo(-0.3, 9);
  });

  it("the reliable mean alpha gives -0.9 or stronger on mlp_epochs and mlp_batchsize, and holds", async () => {
    const groups = (await bySeries("default")).groups!.by_group;
    for (const name of ["mlp_epochs", "mlp_batchsize"]) {
      const association = groups[name]!.metrics.reliable_alpha;
      expect(association.spearman, name).toBeLessThanOrEqual(-0.9);
      expect(association.smaller_is_better, name).toBe(true);
      expect(association.p_method).toBe("exact");
    }
    // 8! orderings, two of them perfectly monotone.
    expect(groups["mlp_epochs"]!.metrics.reliable_alpha.spearman_p).toBeCloseTo(2 / 40320, 15);
  });

  it("mlp_depth is reported as within noise, with no conclusion for any metric", async () => {
    const depth = (await bySeries("default")).groups!.by_group["mlp_depth"]!;
    expect(depth.n).toBe(5);
    expect(depth.noise.within_noise).toBe(true);
    expect(depth.noise.range).toBeCloseTo(0.004, 12);
    expect(depth.noise.threshold).toBeCloseTo(2 * Math.sqrt((0.9633 * (1 - 0.9633)) / 2000), 12);
    for (const metric of SERIES_METRICS) {
      expect(depth.metrics[metric].smaller_is_better, metric).toBeNull();
      expect(depth.metrics[metric].conclusion, metric).toMatch(/^no conclusion: the target's spread is within its noise/);
    }
  });

  it("grouping by series: per-group figures, the shared checkpoint counted once, and the Simpson rule", async () => {
    const result = await bySeries("default");
    const groups = result.groups!;
    expect(Object.fromEntries(Object.entries(groups.by_group).map(([name, g]) => [name, g.n]))).toEqual({ mlp_epochs: 8, mlp_batchsize: 7, mlp_depth: 5 });
    // bs0032 is byte-identical to run_ep0050: 20 files, 19 distinct.
    expect(result.metrics.reliable_alpha!.n).toBe(19);
    expect(result.notes).toContain("mlp_batchsize/bs0032.safetensors has the same content as mlp_epochs/run_ep0050.safetensors: counted once in pooled figures");
    // The rule, restated: a flip is a group above noise whose Spearman sign is opposite to the pooled one.
    const expected = SERIES_METRICS.flatMap((metric) =>
      Object.entries(groups.by_group)
        .filter(([, g]) => !g.noise.within_noise)
        .filter(([, g]) => (g.metrics[metric].spearman ?? 0) * (result.metrics[metric]!.spearman ?? 0) < 0)
        .map(([group]) => ({ metric, group })),
    );
    expect(groups.sign_flips.map(({ metric, group }) => ({ metric, group }))).toEqual(expected);
    // mlp_depth's reliable_alpha runs against the pooled sign, but the group is within noise, so it does not count.
    expect(groups.by_group["mlp_depth"]!.metrics.reliable_alpha.spearman! * result.metrics.reliable_alpha!.spearman!).toBeLessThan(0);
    expect(groups.sign_flips.some((f) => f.group === "mlp_depth")).toBe(false);
    expect(result.notes.filter((n) => n.startsWith("warning:")).length).toBe(groups.sign_flips.length);
  });
});
