import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { planLayers, resolveOptions } from "../../core/analyze.js";
import { openTensorIndex } from "../../core/formats/open.js";
import type { PlannedLayer } from "../../core/layers/plan.js";
import { layerMemoryNeed, overBudgetReason } from "../../core/layers/memory-need.js";
import { spectralKernel } from "../src/kernel.js";
import type { AnalysisView } from "../src/routes/analyses.js";
import { postJson, twoLayerModel } from "./helpers.js";

const MIB = 1024 * 1024;

/** A planned dense layer of the given tensor shape (values are never read). */
async function plannedDense(out: number, inp: number): Promise<PlannedLayer> {
  const header = JSON.stringify({ "big.weight": { dtype: "F32", shape: [out, inp], data_offsets: [0, out * inp * 4] } });
  const padded = header + " ".repeat((8 - ((8 + header.length) % 8)) % 8);
  const head = new Uint8Array(8 + padded.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded.length), true);
  head.set(new TextEncoder().encode(padded), 8);
  // A source of the full size that holds only the header (zeros after it): planning reads no tensor data.
  const size = head.length + out * inp * 4;
  const source = {
    name: "big.safetensors",
    size: async () => size,
    read: async (offset: number, length: number) => {
      const bytes = new Uint8Array(length);
      if (offset < head.length) bytes.set(head.subarray(offset, Math.min(head.length, offset + length)));
      return bytes;
    },
  };
  const plan = planLayers(await openTensorIndex(source), resolveOptions({}));
  return plan.layers[0]!;
}

describe("memory budget", () => {
  it("adds the kernel's stated need and the host buffers", async () => {
    const kernel = await spectralKernel();
    const layer = await plannedDense(128, 64);
    const need = layerMemoryNeed(kernel, layer);
    expect(need.kernelBytes).toBe(kernel.bytesNeeded(64, Math.floor((1 << 19) / 64)));
    // Rows orientation: a block of min(rows, blockRows) tensor rows read (raw + float64), 4 copies of the 64 eigenvalues.
    expect(need.hostBytes).toBe(8 * (2 * 128 * 64 + 4 * 64));
    expect(need.totalBytes).toBe(need.kernelBytes + need.hostBytes);
  });

  it("a 5120-wide layer exceeds the 96 MiB default; a 4096-wide one fits", async () => {
    const kernel = await spectralKernel();
    const wide = layerMemoryNeed(kernel, await plannedDense(10240, 5120));
    // The packed lower triangle of the 5120² Gram alone is 100 MiB of float64.
    expect(wide.kernelBytes).toBeGreaterThan((5120 * 5121 / 2) * 8);
    expect(wide.totalBytes).toBeGreaterThan(96 * MIB);
    const reason = overBudgetReason(wide, 96 * MIB);
    expect(reason).toMatch(/^needs \d+\.\d MiB of memory \(kernel \d+\.\d MiB, buffers \d+\.\d MiB\), above the memory budget of 96\.0 MiB; the layer is not analyzed$/);
    const narrow = layerMemoryNeed(kernel, await plannedDense(8192, 4096));
    expect(narrow.totalBytes).toBeLessThan(96 * MIB);
    expect(overBudgetReason(narrow, 96 * MIB)).toBeUndefined();
  });

  it("an analysis under a tiny budget skips every layer with the reason, never attempting it", async () => {
    await env.MODELS.put("budget-test/model.safetensors", twoLayerModel(11));
    const response = await postJson("/v1/analyses", { source: { r2_key: "budget-test/model.safetensors" } }, { MEMORY_BUDGET_MIB: "0.1" });
    expect(response.status).toBe(200);
    const view = (await response.json()) as AnalysisView;
    const report = view.report!;
    expect(report.layers).toEqual([]);
    const budgetSkips = report.skipped.filter((s) => s.reason.includes("above the memory budget of 0.1 MiB"));
    expect(budgetSkips.map((s) => s.name)).toEqual(["fc1.weight", "fc2.weight"]);
    expect(report.timings.eigen_ms).toBe(0);
  });
});
