/**
 * Opens the HTML comparison report in headless Chromium (Debian's, driven by playwright-core):
 * sorting a table by clicking its header, and every plot rendered with a non-zero size.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { compareReports } from "../core/compare/index.js";
import { renderComparisonHtml } from "../core/render/index.js";
import { layer, report } from "./compare-fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`${CHROMIUM} not found: skipping the browser test of the HTML report`);

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const evals = (scale: number) => Array.from({ length: 80 }, (_, i) => scale * (0.05 + i / 40) ** 3);
const spec = [
  { name: "fc1", base: 2.4, head: 3.9 },
  { name: "fc2", base: 3.1, head: 3.0 },
  { name: "fc3", base: 2.0, head: 2.6 },
  { name: "fc4", base: 4.2, head: 4.0 },
];
const fields = (alpha: number, scale: number) => ({
  alpha,
  sigma: 0.1,
  xmin: scale,
  num_pl_spikes: 30,
  num_evals: 80,
  evals: evals(scale),
  rand_evals: evals(scale / 4),
  rand_num_spikes: 0,
});

describe.skipIf(!hasChromium)("HTML report in Chromium", () => {
  let dir: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "aw-browser-"));
    const base = report("base.safetensors", spec.map((s, i) => layer({ name: s.name, ...fields(s.base, 1 + i) })));
    const head = report("head.safetensors", spec.map((s, i) => layer({ name: s.name, ...fields(s.head, 1 + i) })));
    const file = path.join(dir, "compare.html");
    writeFileSync(file, renderComparisonHtml(compareReports(base, head)));
    context = await chromium.launchPersistentContext(path.join(dir, "profile"), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      offline: true,
    });
    page = await context.newPage();
    await page.goto(`file://${file}`);
  });

  afterAll(async () => {
    await context?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const firstColumn = () => page.locator("#layers tbody tr td:first-child").allTextContents();

  it("sorts the layer table by a numeric column, ascending then descending", async () => {
    expect(await firstColumn()).toEqual(["fc1", "fc2", "fc3", "fc4"]);
    const header = page.locator("#layers thead th", { hasText: /^Δ alpha$/ });
    await header.click();
    expect(await header.getAttribute("aria-sort")).toBe("ascending");
    // Δ alpha: fc1 +1.5, fc2 −0.1, fc3 +0.6, fc4 −0.2.
    expect(await firstColumn()).toEqual(["fc4", "fc2", "fc3", "fc1"]);
    await header.click();
    expect(await header.getAttribute("aria-sort")).toBe("descending");
    expect(await firstColumn()).toEqual(["fc1", "fc3", "fc2", "fc4"]);
  });

  it("sorts a text column alphabetically", async () => {
    await page.locator("#layers thead th", { hasText: /^layer$/ }).click();
    expect(await firstColumn()).toEqual(["fc1", "fc2", "fc3", "fc4"]);
  });

  it("renders every plot with a non-zero size and drawn content", async () => {
    const plots = page.locator("svg.aw-plot");
    // 1 depth plot, base + head ESD per layer (8), base + head trap overlays (8).
    expect(await plots.count()).toBe(17);
    for (const plot of await plots.all()) {
      const box = await plot.boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      expect(box!.height).toBeGreaterThan(100);
      const drawn = await plot.evaluate((svg) => svg.querySelectorAll("rect, path, circle, line").length);
      expect(drawn).toBeGreaterThan(5);
    }
    const bars = await page.locator("svg.aw-esd g.aw-bars rect").first().boundingBox();
    expect(bars!.height).toBeGreaterThan(0);
  });
});
