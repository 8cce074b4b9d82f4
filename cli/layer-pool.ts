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

interface Pending {
  task: LayerTask;
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** The compiled worker script (threads run the built JavaScript, never TypeScript sources). */
export function workerScript(): string {
  return path.join(packageRoot(), "build", "cli", "layer-worker.js");
}

export class LayerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private closed = false;

  constructor(size: number, script = workerScript()) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script);
      worker.on("message", (reply: WorkerReply) => this.finish(worker, reply));
      worker.on("error", (error) => this.fail(worker, error));
      worker.on("exit", (code) => {
        if (!this.closed) this.fail(worker, new Error(`layer worker exited with code ${code}`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  run(task: LayerTask): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const pending = this.queue.shift()!;
      this.busy.set(worker, pending);
      worker.postMessage(pending.task);
    }
  }

  private finish(worker: Worker, reply: WorkerReply): void {
    const pending = this.busy.get(worker);
    this.busy.delete(worker);
    this.idle.push(worker);
    pending?.resolve(reply);
    this.dispatch();
  }

  private fail(worker: Worker, error: Error): void {
    const pending = this.busy.get(worker);
    this.busy.delete(worker);
    const position = this.all.indexOf(worker);
    if (position >= 0) this.all.splice(position, 1);
    pending?.reject(error);
    // The remaining queue waits for the surviving workers; with none left it cannot progress.
    if (this.all.length === 0) for (const waiting of this.queue.splice(0)) waiting.reject(error);
    else this.dispatch();
  }
}
