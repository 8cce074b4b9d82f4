/** analyzeSeries on synthetic Reports: metrics per checkpoint, ranking, dedup, groups and the Simpson rule; label tables. */
import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, SCHEMA_VERSION, type LayerRecord, type Report } from "../core/report.js";
import { analyzeSeries, checkpointSummary, findLabelRow, numericCell, parseLabelTable, type SeriesInput } from "../core/series/index.js";
import { UsageError } from "../core/errors.js";

interface FakeLayer {
  alpha: number | null;
  sigma?: number | null;
  num_evals?: number;
  log_norm?: number;
}

function layer(name: string, l: FakeLayer): LayerRecord {
  const fitted = l.alpha !== null;
  return {
    layer_id: 0, name, longname: name, layer_type: "dense", type_rule: "rank", N: 300, M: l.num_evals ?? 100, Q: 3, rf: 1,
    num_evals: l.num_evals ?? 100, has_esd: true, lambda_max: 10, sv_max: Math.sqrt(10), sv_min: 0.1, rank_loss: 0, weak_rank_loss: 0,
    matrix_rank: 100, entropy: 0.9, norm: 10, log_norm: l.log_norm ?? 1, spectral_norm: 10, log_spectral_norm: 1, stable_rank: 5,
    alpha: l.alpha, alpha_weighted: fitted ? l.alpha! : null, log_alpha_norm: fitted ? l.alpha! * 2 : null, D: fitted ? 0.05 : null,
    sigma: fitted ? (l.sigma ?? 0.1) : null, xmin: fitted ? 1 : null, xmax: fitted ? 10 : null, num_pl_spikes: fitted ? 50 : null,
    status: fitted ? "success" : "failed", warning: "",
  };
}

function report(file: string, layers: LayerRecord[], sha256?: string): Report {
  return {
    schemaVersion: SCHEMA_VERSION, tool: { name: "alphawatch", version: "test" }, options: { ...DEFAULT_OPTIONS, layers: [] },
    source: { path: file, format: "safetensors", size: 1, metadata: {}, ...(sha256 === undefined ? {} : { sha256 }) },
    layers, skipped: [], summary: { num_layers: layers.length, num_failed_fits: 0 }, timings: { total_ms: 0, read_ms: 0, eigen_ms: 0 },
  };
}

/** A checkpoint whose reliable_alpha is `alpha` (one 100-eigenvalue layer) plus a noisy 10-eigenvalue layer. */
function checkpoint(file: string, alpha: number, target: number, group: string, sha256 = file): SeriesInput {
  const layers = [layer("hidden", { alpha, sigma: 0.1 }), layer("out", { alpha: 20 - alpha, sigma: 5, num_evals: 10 })];
  return { file, report: report(file, layers, sha256), target, group, test_size: 10000 };
}

const TARGET = { column: "test_acc", better: "higher", kind: "proportion" } as const;

describe("checkpoint summaries", () => {
  it("separates weightwatcher's plain means, the reliable means and the sigma-weighted mean", () => {
    const layers = [
      layer("a", { alpha: 2, sigma: 0.1, num_evals: 300, log_norm: 1 }),
      layer("b", { alpha: 3, sigma: 0.2, num_evals: 100, log_norm: 2 }),
      layer("c", { alpha: 12, sigma: 4, num_evals: 10, log_norm: 3 }),
      layer("d", { alpha: null, num_evals: 200, log_norm: 6 }),
    ];
    const s = checkpointSummary(report("x", layers), 50);
    expect(s.ww_alpha).toBeCloseTo((2 + 3 + 12) / 3, 14);
    expect(s.ww_log_norm).toBeCloseTo(3, 14);
    expect(s.reliable_alpha).toBeCloseTo(2.5, 14);
    expect(s.reliable_log_alpha_norm).toBeCloseTo(5, 14);
    // weights 100, 25, 1/16
    expect(s.sigma_weighted_alpha).toBeCloseTo((200 + 75 + 12 / 16) / (125 + 1 / 16), 12);
    expect(s).toMatchObject({ num_layers: 4, num_reliable_layers: 2, num_failed_fits: 1 });
    expect(checkpointSummary(report("x", layers), 5).reliable_alpha).toBeCloseTo(17 / 3, 14);
  });

  it("counts weightwatcher's −1 placeholders in its plain mean, as pandas does", () => {
    const placeholder = { ...layer("p", { alpha: 3 }), alpha: -1, status: "failed" as const };
    const s = checkpointSummary(report("x", [layer("a", { alpha: 3 }), placeholder]), 50);
    expect(s.ww_alpha).toBe(1);
    expect(s.reliable_alpha).toBe(3);
  });
});

describe("analyzeSeries", () => {
  it("without labels ranks by reliable_alpha, smaller first, and names the best", () => {
    const result = analyzeSeries([checkpoint("a", 3, 0, ""), checkpoint("b", 2, 0, ""), checkpoint("c", 2.5, 0, "")].map(({ file, report }) => ({ file, report })));
    expect(result.ranking).toEqual({ metric: "reliable_alpha", order: ["b", "c", "a"], best: "b", unranked: [] });
    expect(result.metrics).toEqual({});
    expect(result.notes).toEqual(["best by reliable_alpha (smaller is better): b"]);
    expect(result.schemaVersion).toBe(1);
  });

  it("counts identical content once in pooled figures", () => {
    const inputs = [checkpoint("a", 3, 0.5, "g"), checkpoint("b", 2.5, 0.7, "g"), checkpoint("c", 2, 0.9, "g"), checkpoint("copy-of-c", 2, 0.9, "h", "c")];
    const result = analyzeSeries(inputs, { target: TARGET, group_column: "group" });
    expect(result.metrics.reliable_alpha!.n).toBe(3);
    expect(result.groups!.by_group["h"]!.n).toBe(1);
    expect(result.notes).toContain("copy-of-c has the same content as c: counted once in pooled figures");
  });

  it("warns of Simpson's paradox when a group's sign is opposite to the pooled sign, ignoring groups within noise", () => {
    // Two groups, each better with smaller alpha, but the better group has larger alphas: pooled rho > 0.
    const inputs = [
      checkpoint("a1", 2.0, 0.60, "A"), checkpoint("a2", 1.5, 0.65, "A"), checkpoint("a3", 1.0, 0.70, "A"),
      checkpoint("b1", 5.0, 0.90, "B"), checkpoint("b2", 4.5, 0.95, "B"), checkpoint("b3", 4.0, 0.99, "B"),
      // within noise (0.0005 apart on 10000 samples), and falling with the target: opposite to the pool, yet it must not count
      checkpoint("n1", 3.4, 0.8, "N"), checkpoint("n2", 3.2, 0.8005, "N"), checkpoint("n3", 3.0, 0.801, "N"),
    ];
    const result = analyzeSeries(inputs, { target: TARGET, group_column: "group" });
    expect(result.metrics.reliable_alpha!.spearman).toBeGreaterThan(0);
    const groups = result.groups!;
    expect(groups.by_group["A"]!.metrics.reliable_alpha.spearman).toBe(-1);
    expect(groups.by_group["N"]!.noise.within_noise).toBe(true);
    expect(groups.by_group["N"]!.metrics.reliable_alpha.spearman).toBe(-1);
    const reliableFlips = groups.sign_flips.filter((f) => f.metric === "reliable_alpha");
    expect(reliableFlips.map((f) => f.group)).toEqual(["A", "B"]);
    expect(groups.sign_flips.every((f) => f.group !== "N")).toBe(true);
    expect(result.notes.filter((n) => n.startsWith("warning: Simpson's paradox in reliable_alpha:"))).toEqual([
      `warning: Simpson's paradox in reliable_alpha: within group "A" Spearman is -1.00, but over all groups pooled it is ${signedText(result.metrics.reliable_alpha!.spearman!)}; the pooled figure hides opposite trends`,
      `warning: Simpson's paradox in reliable_alpha: within group "B" Spearman is -1.00, but over all groups pooled it is ${signedText(result.metrics.reliable_alpha!.spearman!)}; the pooled figure hides opposite trends`,
    ]);
  });

  it("refuses bad settings with a UsageError", () => {
    const inputs = [checkpoint("a", 3, 0.5, "")];
    expect(() => analyzeSeries(inputs, { min_fit_evals: -1 })).toThrow(UsageError);
    expect(() => analyzeSeries([])).toThrow("series: no checkpoints given");
    expect(() => analyzeSeries([...inputs, ...inputs])).toThrow("series: a is given twice");
  });
});

function signedText(value: number): string {
  return value > 0 ? `+${value.toFixed(2)}` : value.toFixed(2);
}

describe("label tables", () => {
  const tsv = "file\tseries\ttest_acc\ttest_size\nmlp_epochs/run_ep0001.safetensors\tmlp_epochs\t0.8825\t2000\nmlp_depth/depth1.safetensors\tmlp_depth\t0.9610\t\n";

  it("parses TSV and matches by exact path, trailing path and base name", () => {
    const table = parseLabelTable(tsv, "index.tsv");
    expect(table.columns).toEqual(["file", "series", "test_acc", "test_size"]);
    expect(findLabelRow("mlp_epochs/run_ep0001.safetensors", table)!["series"]).toBe("mlp_epochs");
    expect(findLabelRow("/data/models/series/mlp_epochs/run_ep0001.safetensors", table)!["test_acc"]).toBe("0.8825");
    expect(findLabelRow("elsewhere/depth1.safetensors", table)!["series"]).toBe("mlp_depth");
    expect(findLabelRow("depth2.safetensors", table)).toBeUndefined();
    const row = findLabelRow("depth1.safetensors", table)!;
    expect(numericCell(row, "test_size", table)).toBeNull();
    expect(numericCell(row, "test_acc", table)).toBe(0.961);
  });

  it("parses CSV with quoted fields", () => {
    const table = parseLabelTable('file,note,acc\r\n"a,b.safetensors","say ""hi""",0.5\r\n', "labels.csv");
    expect(table.rows).toEqual([{ file: "a,b.safetensors", note: 'say "hi"', acc: "0.5" }]);
  });

  it("names the file and the problem on bad input", () => {
    expect(() => parseLabelTable("name,acc\nx,1\n", "l.csv")).toThrow('l.csv: labels file has no "file" column (header: name, acc)');
    expect(() => parseLabelTable("file,acc\nx,1,2\n", "l.csv")).toThrow("l.csv line 2: 3 fields, but the header has 2");
    expect(() => parseLabelTable("", "l.csv")).toThrow(UsageError);
    const table = parseLabelTable("file,acc\na/x.pt,high\nb/x.pt,0.5\n", "l.csv");
    expect(() => numericCell(table.rows[0]!, "acc", table)).toThrow('l.csv: a/x.pt: column "acc" has "high", not a number');
    expect(() => findLabelRow("c/x.pt", table)).toThrow("l.csv: 2 rows match c/x.pt (a/x.pt, b/x.pt); give paths that tell them apart");
  });
});
