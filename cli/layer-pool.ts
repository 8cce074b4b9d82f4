/**
 * A pool of worker threads that analyze layers in parallel (`--jobs N`). Each worker opens the
 * same checkpoint itself (reading headers is cheap), keeps its own WebAssembly kernel, and
 * answers one planned layer at a time by its position in the layer plan, so no tensor data
 * crosses threads: only the finished LayerRecord comes back.
 */
import { Worker } from "node:worker_threads";
import path from "node:path";
import type { AnalyzeOptions } from "../core/report.js";
import type { LayerOutcome } from "../core/analyze.js";
import { packageRoot } from "./package-root.js";
import { WorkerPool } from "./worker-pool.js";

export interface LayerTask {
  target: string;
  options: AnalyzeOptions;
  /** The planned row, identified by layer_id and slice_id (unique within a plan). */
  layer_id: number;
  slice_id: number | undefined;
  keepEvals: boolean;
}

/** A worker's answer: the outcome, or an error it could not turn into a skip (with its exit code). */
export type WorkerReply = { ok: true; outcome: LayerOutcome } | { ok: false; message: string; exitCode: number };

/** The compiled worker script (threads run the built JavaScript, never TypeScript sources). */
export function workerScript(): string {
  return path.join(packageRoot(), "build", "cli", "layer-worker.js");
}

export class LayerPool {
  private readonly workers: WorkerPool<LayerTask, WorkerReply>;

  constructor(size: number, script = workerScript()) {
    this.workers = new WorkerPool<LayerTask, WorkerReply>(size, () => new Worker(script), { label: "layer worker" });
  }

  run(task: LayerTask): Promise<WorkerReply> {
    return this.workers.run({ task });
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}
