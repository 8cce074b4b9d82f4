/**
 * Runs planned layers under the memory budget: a layer whose stated need exceeds the budget is
 * skipped with the reason before anything is read or allocated for it.
 */
import { analyzeLayer, type LayerOutcome } from "../../../core/analyze.js";
import type { PlannedLayer } from "../../../core/layers/plan.js";
import type { AnalyzeOptions } from "../../../core/report.js";
import type { SpectralKernel } from "../../../core/spectral/kernel.js";
import { serialized } from "../kernel.js";

export const clock = (): number => performance.now();

/**
 * The isolate's one kernel holds one Gram at a time, and a layer keeps it across its reads: every
 * layer of every request and Queue batch running in this isolate takes its turn here.
 */
const kernelTurn = serialized((work: () => Promise<LayerOutcome>) => work());

export async function runLayerWithinBudget(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  options: AnalyzeOptions,
  budgetBytes: number,
): Promise<LayerOutcome> {
  // core checks the layer's stated need against the budget before reading anything. The
  // eigenvalues are kept for the ESD plots; callers move them to R2 (storage/evals.ts).
  return kernelTurn(() => analyzeLayer(kernel, layer, options, { now: clock, keepEvals: true, memoryBudget: budgetBytes }));
}

/** A runLayer for core's analyze(): one layer at a time on the shared kernel, under the budget. */
export function budgetedLayerRunner(
  kernel: SpectralKernel,
  budgetBytes: number,
): (layer: PlannedLayer, options: AnalyzeOptions) => Promise<LayerOutcome> {
  return (layer: PlannedLayer, options: AnalyzeOptions) => runLayerWithinBudget(kernel, layer, options, budgetBytes);
}
