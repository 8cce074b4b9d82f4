/**
 * Worker thread of the LayerPool: opens the checkpoint named in each task (once per path),
 * plans its layers the same way the main thread did, and analyzes the one planned row asked for.
 */
import { parentPort } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { analyzeLayer, planLayers, type LayerPlan } from "../core/analyze.js";
import { AlphawatchError, describeError } from "../core/errors.js";
import type { LayerTask, WorkerReply } from "./layer-pool.js";
import { loadSpectralKernel } from "./load-kernel.js";
import { openPath } from "./open-path.js";

const plans = new Map<string, Promise<LayerPlan>>();
/** One kernel per thread: its memory is reused layer after layer. */
let kernel: ReturnType<typeof loadSpectralKernel> | undefined;

async function planFor(task: LayerTask): Promise<LayerPlan> {
  const key = `${task.target}\u0000${JSON.stringify(task.options)}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = openPath(task.target).then(async (model) => planLayers(await model.openIndex(model.source), task.options));
    plans.set(key, plan);
  }
  return plan;
}

async function handle(task: LayerTask): Promise<WorkerReply> {
  try {
    const plan = await planFor(task);
    const layer = plan.layers.find((l) => l.layer_id === task.layer_id && l.slice_id === task.slice_id);
    if (layer === undefined) throw new Error(`layer ${task.layer_id} is not in the plan of ${task.target}`);
    kernel ??= loadSpectralKernel();
    const outcome = await analyzeLayer(await kernel, layer, task.options, { now: () => performance.now(), keepEvals: task.keepEvals });
    return { ok: true, outcome };
  } catch (error) {
    return { ok: false, message: describeError(error), exitCode: error instanceof AlphawatchError ? error.exitCode : 1 };
  }
}

parentPort?.on("message", (task: LayerTask) => {
  void handle(task).then((reply) => parentPort?.postMessage(reply));
});
