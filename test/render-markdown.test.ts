import { describe, expect, it } from "vitest";
import { compareReports } from "../core/compare/index.js";
import { renderComparisonMarkdown, renderReportMarkdown, MARKDOWN_LIMIT } from "../core/render/index.js";
import { layer, report } from "./compare-fixtures.js";

const base = report(
  "base.safetensors",
  [
    layer({ name: "fc1", alpha: 2.5, sigma: 0.1, log_spectral_norm: 1 }),
    layer({ name: "fc2", alpha: 3, sigma: 0.2, num_evals: 10, N: 100, M: 10 }),
  ],
  [{ name: "fc1.bias", reason: "bias of layer fc1: biases are not analyzed" }],
);
const head = report("head.safetensors", [
  layer({ name: "fc1", alpha: 3.5, sigma: 0.2, log_spectral_norm: 0.8 }),
  layer({ name: "fc2", alpha: 3, sigma: 0.2, num_evals: 10, N: 100, M: 10 }),
]);

describe("renderComparisonMarkdown", () => {
  it("renders a small comparison exactly", () => {
    const text = renderComparisonMarkdown(compareReports(base, head));
    expect(text).toBe(SNAPSHOT);
  });

  it("puts regressed layers before warned ones and marks not-deciding layers", () => {
    const b = report("b", [layer({ name: "w", alpha: 3, sigma: 0.1 }), layer({ name: "f", alpha: 3, sigma: 0.1 })]);
    const h = report("h", [layer({ name: "w", alpha: 3.3, sigma: 0.1 }), layer({ name: "f", alpha: 4, sigma: 0.1 })]);
    const text = renderComparisonMarkdown(compareReports(b, h));
    const flagged = text.split("### Regressed and warned layers")[1]!.split("<details>")[0]!;
    expect(flagged.indexOf("| f | ❌ fail |")).toBeGreaterThan(0);
    expect(flagged.indexOf("| w | ⚠️ warn |")).toBeGreaterThan(flagged.indexOf("| f | ❌ fail |"));
  });

  it("escapes pipes in layer names and says when traps were not measured", () => {
    const b = report("b", [layer({ name: "a|b", alpha: 3, rand_num_spikes: 0 })]);
    const text = renderComparisonMarkdown(compareReports(b, b));
    expect(text).toContain("| a\\|b | pass |");
    expect(text).toContain("| correlation traps | 0 | 0 |  |");
    expect(text).toContain("## ✅ alphawatch compare: PASS");
  });

  it("stays within the character limit and says where the full report is", () => {
    const many = Array.from({ length: 1200 }, (_, i) => layer({ name: `model.layers.${i}.mlp.down_proj`, alpha: 3 + (i % 7) / 10, sigma: 0.05 }));
    const shifted = many.map((l) => ({ ...l, alpha: l.alpha! + 0.6 }));
    const text = renderComparisonMarkdown(compareReports(report("b", many), report("h", shifted)), { fullReport: "the job's HTML artifact" });
    expect(text.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(text).toMatch(/_\d+ more layers not shown here \(GitHub's 65,536-character limit\); the full report is in the job's HTML artifact\._/);
    expect(text).toContain("**Verdict: fail**");
    // A tiny limit still yields the verdict, cut with the note.
    const tiny = renderComparisonMarkdown(compareReports(report("b", many), report("h", shifted)), { limit: 2000, fullReport: "x.html" });
    expect(tiny.length).toBeLessThanOrEqual(2000);
    expect(tiny).toContain("the full report is in x.html");
  });
});

describe("renderReportMarkdown", () => {
  it("lists layers, skipped layers and the depth chart", () => {
    const text = renderReportMarkdown(base);
    expect(text.split("\n").slice(0, 3)).toEqual([
      "## alphawatch report: `base.safetensors`",
      "",
      "safetensors, 1000 bytes · 2 layers analyzed · 1 layer skipped · mean alpha 2.750",
    ]);
    expect(text).toContain("| 1 | fc1 | dense | 784×300 | 300 | 2.500 | 0.100 | 0.050 | 2.500 | 1.000 | 2.000 | 20.000 |  |");
    expect(text).toContain("| fc1.bias | bias of layer fc1: biases are not analyzed |");
    expect(text).toContain('    x-axis ["fc1", "fc2"]\n    y-axis "alpha" 0 --> 7\n    line [2.500, 3.000]\n```');
  });
});

const SNAPSHOT = [
  "## ❌ alphawatch compare: FAIL",
  "",
  "**Verdict: fail**: 1 layer regressed, 1 model-level finding. Base `base.safetensors`, head `head.safetensors`.",
  "",
  "- Mean alpha rose from 2.50 to 3.50 (+1.00, 4.5 combined standard errors) over the layers that decide.",
  "- fc1: alpha rose from 2.50 to 3.50 (+1.00, 4.5 combined standard errors).",
  "",
  "|  | base | head | change |",
  "|---|---:|---:|---:|",
  "| mean alpha (deciding layers) | 2.500 | 3.500 | +1.000 |",
  "| mean alpha (whole report) | 2.750 | 3.250 | +0.500 |",
  "| layers analyzed | 2 | 2 | 0 |",
  "| layers matched / added / removed |  | 2 / 0 / 0 |  |",
  "| regressions: failed / warned layers |  | 1 / 0 |  |",
  "| correlation traps | not measured | not measured |  |",
  "",
  "### Regressed and warned layers",
  "",
  "| layer | verdict | alpha base → head | Δ alpha | Δ alpha / σ | Δ log_spectral_norm | why |",
  "|---|---|---:|---:|---:|---:|---|",
  "| fc1 | ❌ fail | 2.500 → 3.500 | +1.000 | 4.5 | -0.200 | alpha rose from 2.50 to 3.50 (+1.00, 4.5 combined standard errors). |",
  "",
  "<details><summary>All 2 matched layers</summary>",
  "",
  "| layer | verdict | alpha | Δ alpha | Δ alpha_weighted | Δ D | Δ log_spectral_norm | Δ log_norm | Δ stable_rank | Δ num_pl_spikes | Δ rand_num_spikes | warnings |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  "| fc1 | fail | 2.500 → 3.500 | +1.000 | +1.000 | 0 | -0.200 | 0 | 0 | 0 | not measured |  |",
  "| fc2 | pass (small) | 3.000 → 3.000 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | not measured |  |",
  "",
  "</details>",
  "",
  "### Skipped layers",
  "",
  "| layer | in | reason |",
  "|---|---|---|",
  "| fc1.bias | base | bias of layer fc1: biases are not analyzed |",
  "",
  "### Alpha along depth",
  "",
  "```mermaid",
  "xychart-beta",
  "    title \"alpha per layer: base (first line), head (second line)\"",
  "    x-axis [\"fc1\", \"fc2\"]",
  "    y-axis \"alpha\" 0 --> 7",
  "    line [2.500, 3.000]",
  "    line [3.500, 3.000]",
  "```",
  "",
].join("\n");
