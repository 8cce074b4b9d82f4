import { describe, expect, it } from "vitest";
import { compareReports } from "../core/compare/index.js";
import { renderComparisonDepthSvg, renderDepthSvg, renderEsdSvg, renderReportDepthSvg, renderTrapSvg } from "../core/render/index.js";
import { layer, report } from "./compare-fixtures.js";

/** Eigenvalues with a power-law tail: λ_i = (i/n)^(-1/(alpha-1)) for a known alpha. */
function powerLawEvals(n: number, alpha: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i + 1) / n) ** (-1 / (alpha - 1))).sort((a, b) => a - b);
}

function attribute(svg: string, selector: RegExp, name: string): string[] {
  return [...svg.matchAll(selector)].map((m) => new RegExp(`${name}="([^"]*)"`).exec(m[0])![1]!);
}

describe("renderEsdSvg", () => {
  const evals = powerLawEvals(200, 3);
  const l = layer({ name: "fc1", alpha: 3, sigma: 0.14, xmin: 2, num_pl_spikes: 50, num_evals: 200, evals });

  it("draws the histogram, the fit line and xmin, with no script and no foreign content", () => {
    const svg = renderEsdSvg(l);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="aw-plot aw-esd" width="640" height="380"')).toBe(true);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(svg).not.toMatch(/<script|foreignObject|NaN|undefined|Infinity/);
    expect(svg).toContain("<title>ESD of fc1</title>");
    expect(svg).toContain("alpha 3.000 ± 0.140 · D 0.050 · 50 of 200 eigenvalues in the tail");
    const bars = svg.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+"\/>/g)!;
    expect(bars.length).toBeGreaterThan(10);
    expect(svg).toMatch(/<path class="aw-fit" d="M[\d. ]+( L[\d. ]+){24}"/);
    // The xmin marker sits at log10(2) on an axis of whole decades [1e0, 1e2]: 64 + 0.301/2 · 556 px.
    expect(attribute(svg, /<line class="aw-xmin"[^>]*>/g, "x1")).toEqual(["147.69"]);
  });

  it("the fitted density has slope -alpha on the log-log axes", () => {
    const svg = renderEsdSvg(l);
    const d = /<path class="aw-fit" d="([^"]+)"/.exec(svg)![1]!;
    const points = d.split(/[ML]/).filter((p) => p.trim() !== "").map((p) => p.trim().split(" ").map(Number));
    const [x0, y0] = points[0]!;
    const [x1, y1] = points[points.length - 1]!;
    // Pixels per decade on each axis, from the tick labels "1eK".
    const yTicks = [...svg.matchAll(/<text x="58" y="([\d.]+)"[^>]*>1e(-?\d+)<\/text>/g)].map((m) => [Number(m[2]), Number(m[1])] as const);
    const xTicks = [...svg.matchAll(/<text x="([\d.]+)" y="332"[^>]*>1e(-?\d+)<\/text>/g)].map((m) => [Number(m[2]), Number(m[1])] as const);
    const perDecade = (ticks: ReadonlyArray<readonly [number, number]>) =>
      (ticks[ticks.length - 1]![1] - ticks[0]![1]) / (ticks[ticks.length - 1]![0] - ticks[0]![0]);
    const slope = ((y1! - y0!) / perDecade(yTicks)) / ((x1! - x0!) / perDecade(xTicks));
    expect(slope).toBeCloseTo(-3, 1);
  });

  it("says why when the report has no eigenvalues", () => {
    const svg = renderEsdSvg(layer({ name: "fc1", alpha: 3 }));
    expect(svg).toContain("no eigenvalues in the report (analyze with --evals)");
    expect(svg).not.toContain("<rect x=\"64\"");
  });

  it("escapes layer names", () => {
    expect(renderEsdSvg({ ...l, name: "a<b>&\"c\"" })).toContain("<title>ESD of a&lt;b&gt;&amp;&quot;c&quot;</title>");
  });
});

describe("renderTrapSvg", () => {
  it("overlays the randomized ESD and marks its largest eigenvalue", () => {
    const evals = powerLawEvals(100, 2.5);
    const rand = Array.from({ length: 100 }, (_, i) => 0.5 + i / 100);
    const svg = renderTrapSvg(layer({ name: "fc2", alpha: 2.5, evals, rand_evals: rand, rand_num_spikes: 1, max_rand_eval: 1.49 }));
    expect(svg).toContain('<g class="aw-bars-original"');
    expect(svg).toContain('<g class="aw-bars-random"');
    expect(svg).toContain("1 correlation trap · max randomized λ 1.490");
    expect(svg).toMatch(/<line class="aw-max-rand" x1="[\d.]+"/);
  });

  it("says what it needs when rand_evals are missing", () => {
    expect(renderTrapSvg(layer({ name: "x", alpha: 3, evals: [1, 2, 3] }))).toContain("needs both eigenvalue sets");
  });
});

describe("depth plots", () => {
  it("puts one point and one error bar per fitted layer, base and head side by side", () => {
    const b = report("b", [layer({ name: "fc1", alpha: 2.5, sigma: 0.2 }), layer({ name: "fc2", alpha: null }), layer({ name: "fc3", alpha: 4, sigma: 0.5 })]);
    const h = report("h", [layer({ name: "fc1", alpha: 3, sigma: 0.3 }), layer({ name: "fc2", alpha: 2, sigma: 0.1 }), layer({ name: "fc3", alpha: 4, sigma: 0.5 })]);
    const svg = renderComparisonDepthSvg(compareReports(b, h));
    expect(svg.match(/<circle class="aw-point"/g)!.length).toBe(5);
    expect(svg.match(/<line class="aw-errorbar"/g)!.length).toBe(5);
    expect(svg).toContain('data-series="base alpha ± sigma"');
    expect(svg).toContain("<title>fc1: alpha 3.000 ± 0.300</title>");
    // y axis: 0..7 (at least the heavy-tailed band); alpha 2.5 → bottom 316 − 2.5/8 · 272... ticks every 2 up to 8.
    expect(svg).toContain(">8</text>");
    const band = /<rect class="aw-band" x="64" y="([\d.]+)" width="556" height="([\d.]+)"/.exec(svg)!;
    expect(Number(band[1])).toBeCloseTo(316 - (6 / 8) * 272, 2);
    expect(Number(band[2])).toBeCloseTo((4 / 8) * 272, 2);
  });

  it("numbers the positions instead of naming them when there are many layers", () => {
    const layers = Array.from({ length: 40 }, (_, i) => layer({ name: `blk.${i}.ffn_down`, alpha: 3, sigma: 0.1 }));
    const svg = renderReportDepthSvg(report("r", layers));
    expect(svg).toContain("layer (position in depth order)");
    expect(svg).not.toContain("blk.0.ffn_down</text>");
  });

  it("an empty series says so", () => {
    expect(renderDepthSvg("t", ["a"], [{ label: "x", color: "#000", points: [null] }])).toContain("no layer has a fitted alpha");
  });
});
