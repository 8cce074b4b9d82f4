/**
 * Runs planned layers under the memory budget: a layer whose stated need exceeds the budget is
 * skipped with the reason before anything is read or allocated for it.
 */
import { analyzeLayer, type LayerOutcome } from "../../../core/analyze.js";
import type { PlannedLayer } from "../../../core/layers/plan.js";
import type { AnalyzeOptions } from "../../../core/report.js";
import type { SpectralKernel } from "../../../core/spectral/kernel.js";
import { layerMemoryNeed, overBudgetReason } from "../budget.js";
import { serialized } from "../kernel.js";

export const clock = (): number => performance.now();

export async function runLayerWithinBudget(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  options: AnalyzeOptions,
  budgetBytes: number,
): Promise<LayerOutcome> {
  const reason = overBudgetReason(layerMemoryNeed(kernel, layer), budgetBytes);
  if (reason !== undefined) {
    return { kind: "skipped", skipped: { name: layer.tensor.name, reason }, timings: { read_ms: 0, eigen_ms: 0 } };
  }
  // The eigenvalues are kept for the ESD plots; callers move them to R2 (storage/evals.ts).
  return analyzeLayer(kernel, layer, options, { now: clock, keepEvals: true });
}

/** A runLayer for core's analyze(): one layer at a time on the shared kernel, under the budget. */
export function budgetedLayerRunner(
  kernel: SpectralKernel,
  budgetBytes: number,
): (layer: PlannedLayer, options: AnalyzeOptions) => Promise<LayerOutcome> {
  return serialized((layer: PlannedLayer, options: AnalyzeOptions) => runLayerWithinBudget(kernel, layer, options, budgetBytes));
}
