import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
const [,, file, out, selector, index] = process.argv;
const ctx = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), "aw-chrome-")), {
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1400, height: 1000 },
});
const page = await ctx.newPage();
await page.goto("file://" + path.resolve(file));
if (selector) await page.locator(selector).nth(Number(index ?? 0)).screenshot({ path: out });
else await page.screenshot({ path: out, fullPage: true });
await ctx.close();
