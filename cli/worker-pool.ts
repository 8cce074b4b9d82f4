/**
 * A fixed set of worker threads sharing one queue of tasks: the CLI's per-layer pool and the
 * Action's per-file pool. A worker answers each task with exactly one reply; before it, it may post
 * notes (progress) that go to the task's listener while the worker stays busy with the task.
 */
import type { TransferListItem, Worker } from "node:worker_threads";

export interface PoolRequest<Task, Note> {
  task: Task;
  /** Moved to the worker instead of copied (e.g. the ArrayBuffer of a checkpoint's bytes). */
  transfer?: readonly TransferListItem[];
  /** Called when a worker takes the task, with that worker's thread id. */
  onStart?: (threadId: number) => void;
  onNote?: (note: Note) => void;
}

export interface WorkerPoolSettings<Reply, Note> {
  /** What the workers are, for the error when one dies ("layer worker"). */
  label: string;
  /** Tells a note from the reply; without it every message is a reply. */
  isNote?: (message: Reply | Note) => message is Note;
}

interface Pending<Task, Reply, Note> {
  request: PoolRequest<Task, Note>;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

export class WorkerPool<Task, Reply, Note = never> {
  /**
   * Idle workers in the order they became idle: the one idle longest takes the next task, so work
   * spreads over every thread even when a task finishes before the next one arrives.
   */
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Array<Pending<Task, Reply, Note>> = [];
  private readonly busy = new Map<Worker, Pending<Task, Reply, Note>>();
  private closed = false;
  /** Why the last worker died: later tasks fail with it instead of waiting forever. */
  private noWorkers: Error | undefined;

  constructor(
    size: number,
    startWorker: () => Worker,
    private readonly settings: WorkerPoolSettings<Reply, Note>,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = startWorker();
      worker.on("message", (message: Reply | Note) => this.receive(worker, message));
      worker.on("error", (error) => this.fail(worker, error));
      worker.on("exit", (code) => {
        if (!this.closed) this.fail(worker, new Error(`${settings.label} exited with code ${code}`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  /** Thread ids of the live workers. */
  get threadIds(): number[] {
    return this.all.map((worker) => worker.threadId);
  }

  run(request: PoolRequest<Task, Note>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.noWorkers !== undefined) return reject(this.noWorkers);
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.shift()!;
      const pending = this.queue.shift()!;
      this.busy.set(worker, pending);
      pending.request.onStart?.(worker.threadId);
      worker.postMessage(pending.request.task, pending.request.transfer);
    }
  }

  private receive(worker: Worker, message: Reply | Note): void {
    const pending = this.busy.get(worker);
    if (this.settings.isNote?.(message) === true) {
      pending?.request.onNote?.(message);
      return;
    }
    this.busy.delete(worker);
    this.idle.push(worker);
    pending?.resolve(message as Reply);
    this.dispatch();
  }

  private fail(worker: Worker, error: Error): void {
    const pending = this.busy.get(worker);
    this.busy.delete(worker);
    const position = this.all.indexOf(worker);
    if (position >= 0) this.all.splice(position, 1);
    const idleAt = this.idle.indexOf(worker);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    pending?.reject(error);
    // The remaining queue waits for the surviving workers; with none left it cannot progress.
    if (this.all.length === 0) {
      this.noWorkers = error;
      for (const waiting of this.queue.splice(0)) waiting.reject(error);
    } else {
      this.dispatch();
    }
  }
}
