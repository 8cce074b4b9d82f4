/**
 * core/series/labelling.ts (the label defaults every front end shares) and the content identity
 * of series inputs (content_id: what makes two checkpoints the same bytes in pooled figures).
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../core/errors.js";
import { DEFAULT_OPTIONS, SCHEMA_VERSION, type LayerRecord, type Report } from "../core/report.js";
import {
  DEFAULT_TARGET,
  LABEL_FIELD_NAMES,
  analyzeSeries,
  defaultTargetBetter,
  defaultTargetKind,
  labelFields,
  labelTableFromRows,
  parseLabelTable,
  resolveLabelling,
  type LabelSettingNames,
  type SeriesInput,
} from "../core/series/index.js";
import { LABEL_FLAG_NAMES } from "../cli/commands/series.js";

/** The CLI's spelling of the label settings (its flags). */
const FLAGS: LabelSettingNames = LABEL_FLAG_NAMES;

const TSV = "file\tseries\ttest_acc\ttest_loss\ttest_size\nrun/ep1.pt\tA\t0.80\t0.61\t2000\nrun/ep2.pt\tA\t0.85\t0.52\t\nrun/ep3.pt\tB\t\t0.50\t1e3\n";

describe("label defaults read from the target's name", () => {
  it("lower is better for losses, error rates and perplexities; proportions for accuracies and error rates", () => {
    const cases: Array<[string, string, string]> = [
      ["test_acc", "higher", "proportion"],
      ["top1_accuracy", "higher", "proportion"],
      ["test_loss", "lower", "other"],
      ["val_err", "lower", "proportion"],
      ["Error_Rate", "lower", "proportion"],
      ["perplexity", "lower", "other"],
      ["f1", "higher", "other"],
      ["bleu", "higher", "other"],
    ];
    for (const [column, better, kind] of cases) {
      expect([column, defaultTargetBetter(column), defaultTargetKind(column)]).toEqual([column, better, kind]);
    }
    expect(DEFAULT_TARGET).toBe("test_acc");
  });
});

describe("resolveLabelling", () => {
  const table = parseLabelTable(TSV, "index.tsv");

  it("takes test_acc by default, with its direction and kind, and finds the test_size column", () => {
    const labelling = resolveLabelling(table, {})!;
    expect(labelling.target).toEqual({ column: "test_acc", better: "higher", kind: "proportion" });
    expect(labelling.testSizeColumn).toBe("test_size");
    expect(labelling.group).toBeUndefined();
    expect(labelling.table).toBe(table);
  });

  it("keeps what the user gives over the defaults", () => {
    const labelling = resolveLabelling(table, { target: "test_loss", group: "series", test_size: 500, target_better: "higher", target_kind: "proportion" })!;
    expect(labelling.target).toEqual({ column: "test_loss", better: "higher", kind: "proportion", test_size: 500 });
    expect(labelling.group).toBe("series");
    expect(resolveLabelling(table, { target: "test_loss" })!.target).toEqual({ column: "test_loss", better: "lower", kind: "other" });
  });

  it("without labels: nothing, and any label setting is a UsageError spelled as the front end spells it", () => {
    expect(resolveLabelling(undefined, {})).toBeUndefined();
    expect(() => resolveLabelling(undefined, { target: "test_acc" })).toThrow(new UsageError("target needs labels"));
    expect(() => resolveLabelling(undefined, { test_size: 10 }, FLAGS)).toThrow(new UsageError("--test-size needs --labels"));
    expect(() => resolveLabelling(undefined, { target_kind: "other" }, FLAGS)).toThrow("--target-kind needs --labels");
    expect(() => resolveLabelling(undefined, { group: "series", target_better: "lower" }, LABEL_FIELD_NAMES)).toThrow("group needs labels");
  });

  it("names the missing column and the setting that named it", () => {
    const noAcc = parseLabelTable("file,accuracy\na.pt,0.5\n", "labels.csv");
    expect(() => resolveLabelling(noAcc, {}, FLAGS)).toThrow(
      'labels.csv: the default target (--target) names column "test_acc", which the labels do not have (columns: file, accuracy)',
    );
    expect(() => resolveLabelling(noAcc, {})).toThrow('labels.csv: the default target (target) names column "test_acc"');
    expect(() => resolveLabelling(table, { target: "top1" }, FLAGS)).toThrow('index.tsv: --target names column "top1"');
    expect(() => resolveLabelling(table, { group: "arch" })).toThrow('index.tsv: group names column "arch"');
  });
});

describe("labelFields", () => {
  const table = parseLabelTable(TSV, "index.tsv");

  it("gives each checkpoint its target, group and test-set size; nothing for a file no row names", () => {
    const labelling = resolveLabelling(table, { group: "series" })!;
    expect(labelFields("/data/run/ep1.pt", labelling)).toEqual({ target: 0.8, group: "A", test_size: 2000 });
    expect(labelFields("run/ep2.pt", labelling)).toEqual({ target: 0.85, group: "A" });
    expect(labelFields("ep3.pt", labelling)).toEqual({ target: null, group: "B", test_size: 1000 });
    expect(labelFields("run/ep4.pt", labelling)).toEqual({});
    expect(labelFields("run/ep1.pt", resolveLabelling(table, { target: "test_loss" })!)).toEqual({ target: 0.61, test_size: 2000 });
  });

  it("refuses a test_size that is not a positive integer, naming the file", () => {
    const bad = parseLabelTable("file,test_acc,test_size\na.pt,0.5,12.5\n", "l.csv");
    expect(() => labelFields("a.pt", resolveLabelling(bad, {})!)).toThrow('l.csv: a.pt: test_size "12.5" is not a positive integer');
  });
});

describe("labelTableFromRows", () => {
  it("makes the table a labels file would give, every value as its text", () => {
    const table = labelTableFromRows([{ file: "a.pt", test_acc: 0.5 }, { file: " b.pt ", test_acc: null, series: "x" }], "labels");
    expect(table).toEqual({
      name: "labels",
      columns: ["file", "test_acc", "series"],
      rows: [
        { file: "a.pt", test_acc: "0.5", series: "" },
        { file: "b.pt", test_acc: "", series: "x" },
      ],
    });
    expect(labelFields("b.pt", resolveLabelling(table, { group: "series" })!)).toEqual({ target: null, group: "x" });
  });

  it("needs a file text in every row", () => {
    expect(() => labelTableFromRows([{ name: "a.pt" }], "labels")).toThrow(new UsageError('labels: the rows have no "file" field'));
    expect(() => labelTableFromRows([{ file: "a.pt" }, { file: 3 }], "labels")).toThrow('labels: row 2 has no "file" text');
    expect(() => labelTableFromRows([{ file: "a.pt" }, { test_acc: 1 }], "labels")).toThrow('labels: row 2 has no "file" text');
  });
});

function report(file: string, alpha: number, sha256?: string): Report {
  const layer: LayerRecord = {
    layer_id: 0, name: "fc", longname: "fc", layer_type: "dense", type_rule: "rank", N: 300, M: 100, Q: 3, rf: 1,
    num_evals: 100, has_esd: true, lambda_max: 10, sv_max: Math.sqrt(10), sv_min: 0.1, rank_loss: 0, weak_rank_loss: 0,
    matrix_rank: 100, entropy: 0.9, norm: 10, log_norm: 1, spectral_norm: 10, log_spectral_norm: 1, stable_rank: 5,
    alpha, alpha_weighted: alpha, log_alpha_norm: 2 * alpha, D: 0.05, sigma: 0.1, xmin: 1, xmax: 10, num_pl_spikes: 50,
    status: "success", warning: "",
  };
  return {
    schemaVersion: SCHEMA_VERSION, tool: { name: "alphawatch", version: "test" }, options: { ...DEFAULT_OPTIONS, layers: [] },
    source: { path: file, format: "safetensors", size: 1, metadata: {}, ...(sha256 === undefined ? {} : { sha256 }) },
    layers: [layer], skipped: [], summary: { num_layers: 1, num_failed_fits: 0 }, timings: { total_ms: 0, read_ms: 0, eigen_ms: 0 },
  };
}

const TARGET = { column: "test_acc", better: "higher", kind: "proportion", test_size: 10000 } as const;

describe("content identity of series inputs", () => {
  it("equal content_id counts once, without a sha256 in the output", () => {
    const inputs: SeriesInput[] = [
      { file: "a", report: report("a", 3), target: 0.5, content_id: "etag:1" },
      { file: "b", report: report("b", 2.5), target: 0.7, content_id: "etag:2" },
      { file: "c", report: report("c", 2), target: 0.9, content_id: "etag:3" },
      { file: "c-again", report: report("c-again", 2), target: 0.9, content_id: "etag:3" },
    ];
    const result = analyzeSeries(inputs, { target: TARGET });
    expect(result.metrics.reliable_alpha!.n).toBe(3);
    expect(result.notes).toContain("c-again has the same content as c: counted once in pooled figures");
    expect(result.checkpoints.map((c) => [c.content_id, c.sha256])).toEqual([
      ["etag:1", undefined],
      ["etag:2", undefined],
      ["etag:3", undefined],
      ["etag:3", undefined],
    ]);
  });

  it("defaults to sha256:<hex> from the input's or the report's SHA-256; without either, never taken for another", () => {
    const inputs: SeriesInput[] = [
      { file: "a", report: report("a", 3), target: 0.5, sha256: "aa" },
      { file: "b", report: report("b", 2.5, "bb"), target: 0.7 },
      { file: "b-copy", report: report("b-copy", 2.5), target: 0.7, sha256: "bb" },
      { file: "x", report: report("x", 2), target: 0.9 },
      { file: "y", report: report("y", 2), target: 0.9 },
    ];
    const result = analyzeSeries(inputs, { target: TARGET });
    expect(result.checkpoints.map((c) => [c.file, c.sha256, c.content_id])).toEqual([
      ["a", "aa", "sha256:aa"],
      ["b", "bb", "sha256:bb"],
      ["b-copy", "bb", "sha256:bb"],
      ["x", undefined, undefined],
      ["y", undefined, undefined],
    ]);
    expect(result.metrics.reliable_alpha!.n).toBe(4);
    expect(result.notes.filter((n) => n.includes("same content"))).toEqual(["b-copy has the same content as b: counted once in pooled figures"]);
  });

  it("a given content_id wins over the hash: identities of another kind are never equal to a hash", () => {
    const inputs: SeriesInput[] = [
      { file: "a", report: report("a", 3, "ff"), target: 0.5 },
      { file: "b", report: report("b", 2.5, "ff"), target: 0.7, content_id: "etag:ff" },
      { file: "c", report: report("c", 2), target: 0.9, content_id: "etag:c" },
    ];
    const result = analyzeSeries(inputs, { target: TARGET });
    expect(result.checkpoints.map((c) => [c.sha256, c.content_id])).toEqual([
      ["ff", "sha256:ff"],
      ["ff", "etag:ff"],
      [undefined, "etag:c"],
    ]);
    expect(result.metrics.reliable_alpha!.n).toBe(3);
    expect(result.notes.some((n) => n.includes("same content"))).toBe(false);
  });
});
