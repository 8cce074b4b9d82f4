import { it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { sharedPath } from "./shared.js";
import { compareReports } from "../core/compare/index.js";
import { renderComparisonHtml, renderReportHtml } from "../core/render/index.js";
async function run(rel: string, bytes?: Uint8Array) {
  const kernel = await loadSpectralKernel();
  return analyze(bytesSource(bytes ?? new Uint8Array(readFileSync(sharedPath("models/series", rel))), rel), {}, { kernel, keepEvals: true, hashSource: false });
}
it("scratch", async () => {
  const a = await run("mlp_epochs/run_ep0020.safetensors");
  const b = await run("mlp_epochs/run_ep0000.safetensors");
  const raw = new Uint8Array(readFileSync(sharedPath("models/series", "mlp_epochs/run_ep0020.safetensors")));
  const n = Number(new DataView(raw.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + n)));
  const shuffled = raw.slice();
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const [k, v] of Object.entries<any>(header)) {
    if (k === "__metadata__" || !k.endsWith("weight")) continue;
    const [s, e] = v.data_offsets;
    const f = new Float32Array(shuffled.buffer.slice(8 + n + s, 8 + n + e));
    for (let i = f.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [f[i], f[j]] = [f[j]!, f[i]!]; }
    shuffled.set(new Uint8Array(f.buffer), 8 + n + s);
  }
  const r = await run("shuffled", shuffled);
  const withRand = structuredClone(a);
  withRand.layers.forEach((l, i) => { l.rand_evals = r.layers[i]!.evals!; l.max_rand_eval = Math.max(...l.rand_evals); });
  writeFileSync("/tmp/aw/report.html", renderReportHtml(withRand));
  writeFileSync("/tmp/aw/compare.html", renderComparisonHtml(compareReports(a, b)));
}, 120000);
