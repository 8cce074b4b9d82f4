import { describe, expect, it } from "vitest";
import { compareReports } from "../core/compare/index.js";
import { renderComparisonHtml, renderReportHtml } from "../core/render/index.js";
import { layer, report } from "./compare-fixtures.js";

const evals = (scale: number) => Array.from({ length: 60 }, (_, i) => scale * (0.1 + i / 20) ** 2);

const base = report(
  "base<1>.safetensors",
  [
    layer({ name: "fc1", alpha: 2.5, sigma: 0.1, evals: evals(1), xmin: 1, num_pl_spikes: 20, num_evals: 60 }),
    layer({ name: "fc2", alpha: 3, sigma: 0.2, evals: evals(2), rand_evals: evals(0.5), rand_num_spikes: 0, xmin: 2, num_pl_spikes: 20, num_evals: 60 }),
  ],
  [{ name: "fc1.bias", reason: "bias of layer fc1: biases are not analyzed" }],
);

describe("renderReportHtml", () => {
  const html = renderReportHtml(base);

  it("is one self-contained document: no external resources", () => {
    expect(html.startsWith("<!doctype html>\n<html lang=\"en\">")).toBe(true);
    expect(html.endsWith("</html>\n")).toBe(true);
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).not.toMatch(/\beval\(|new Function/);
  });

  it("holds the depth plot, one ESD per layer with eigenvalues and the trap overlay", () => {
    expect(html.match(/<svg /g)!.length).toBe(4);
    expect(html.match(/class="aw-plot aw-esd"/g)!.length).toBe(2);
    expect(html.match(/class="aw-plot aw-trap"/g)!.length).toBe(1);
    expect(html).toContain('class="aw-plot aw-depth"');
  });

  it("writes sortable tables with numeric sort keys and escapes text", () => {
    expect(html).toContain('<table class="sortable" id="layers">');
    expect(html).toContain('<td data-value="2.5">2.500</td>');
    expect(html).toContain("<h1>alphawatch report: base&lt;1&gt;.safetensors</h1>");
    expect(html).toContain('<td class="text">fc1.bias</td><td class="text">bias of layer fc1: biases are not analyzed</td>');
    expect(html).toContain('<td data-value="">not measured</td>');
  });
});

describe("renderComparisonHtml", () => {
  const head = report("head.safetensors", [
    layer({ name: "fc1", alpha: 3.5, sigma: 0.2, evals: evals(1.5), xmin: 1, num_pl_spikes: 20, num_evals: 60 }),
    layer({ name: "fc2", alpha: 3, sigma: 0.2, evals: evals(2), xmin: 2, num_pl_spikes: 20, num_evals: 60 }),
  ]);
  const html = renderComparisonHtml(compareReports(base, head));

  it("shows the verdict, the reasons and a row class per verdict", () => {
    expect(html).toContain('<span class="verdict verdict-fail" id="verdict">FAIL</span>');
    expect(html).toContain("<li>fc1: alpha rose from 2.50 to 3.50 (+1.00, 4.5 combined standard errors).</li>");
    expect(html).toContain('<tr class="fail"><td class="text">fc1</td>');
    expect(html).toContain("<title>alphawatch compare: fail</title>");
  });

  it("draws base and head ESDs side by side and the comparison depth plot", () => {
    expect(html.match(/class="aw-plot aw-esd"/g)!.length).toBe(4);
    expect(html).toContain('data-series="head alpha ± sigma"');
    expect(html.match(/class="aw-plot aw-trap"/g)!.length).toBe(1);
  });
});
