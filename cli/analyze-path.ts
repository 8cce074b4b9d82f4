/**
 * Runs one analysis for the CLI: opens the path, loads the kernel, spreads layers over worker
 * threads when asked, and shows progress on stderr when it is a terminal and the run is long.
 */
import { performance } from "node:perf_hooks";
import { SingleBar } from "cli-progress";
import { analyze, resolveOptions, type AnalyzeDeps } from "../core/analyze.js";
import { AlphawatchError, FormatError } from "../core/errors.js";
import type { AnalyzeOptions, Report } from "../core/report.js";
import { LayerPool } from "./layer-pool.js";
import { loadSpectralKernel } from "./load-kernel.js";
import type { Io } from "./main.js";
import { openPath } from "./open-path.js";

export interface AnalyzePathSettings {
  io: Io;
  /** Worker threads for layers; 1 analyzes in this thread. */
  jobs: number;
  keepEvals: boolean;
}

/** Progress appears only after this long, so short runs print nothing extra. */
const PROGRESS_DELAY_MS = 1000;

function progressReporter(io: Io): { update: AnalyzeDeps["onProgress"]; stop: () => void } {
  if (!io.interactive) return { update: undefined, stop: () => {} };
  const started = performance.now();
  let bar: SingleBar | undefined;
  return {
    update(done, total, name) {
      if (bar === undefined && performance.now() - started < PROGRESS_DELAY_MS) return;
      if (bar === undefined) {
        bar = new SingleBar({ format: "{bar} {value}/{total} layers  {layer}", stream: process.stderr, clearOnComplete: true, hideCursor: true });
        bar.start(total, 0, { layer: "" });
      }
      bar.update(done, { layer: name });
    },
    stop() {
      bar?.stop();
    },
  };
}

export async function analyzePath(target: string, options: Partial<AnalyzeOptions>, settings: AnalyzePathSettings): Promise<Report> {
  const resolved = resolveOptions(options);
  const model = await openPath(target);
  const kernel = await loadSpectralKernel();
  const progress = progressReporter(settings.io);
  const deps: AnalyzeDeps = {
    kernel,
    openIndex: model.openIndex,
    hashSource: model.hashable,
    now: () => performance.now(),
    keepEvals: settings.keepEvals,
  };
  if (progress.update !== undefined) deps.onProgress = progress.update;
  let pool: LayerPool | undefined;
  if (settings.jobs > 1) {
    pool = new LayerPool(settings.jobs);
    const running = pool;
    deps.runLayer = async (layer) => {
      const reply = await running.run({ target, options: resolved, layer_id: layer.layer_id, slice_id: layer.slice_id, keepEvals: settings.keepEvals });
      if (reply.ok) return reply.outcome;
      throw reply.exitCode === 2 ? new AlphawatchError("usage", reply.message, 2) : new FormatError(reply.message);
    };
  }
  try {
    return await analyze(model.source, resolved, deps);
  } finally {
    progress.stop();
    await pool?.close();
  }
}
