/**
 * The main-thread side of the Action's analysis pool: worker threads started on the bundle's own
 * file, one checkpoint version per task. A git blob's bytes are moved to the worker, not copied;
 * LFS objects are read by the worker itself (a local file, or range requests).
 */
import { Worker } from "node:worker_threads";
import type { Report } from "../../core/report.js";
import { WorkerPool } from "../../cli/worker-pool.js";
import { fromThreadError, isLayerNote, type AnalysisJob, type JobReply, type LayerNote } from "./analysis-job.js";
import { ANALYSIS_WORKER_DATA } from "./analysis-worker.js";
import { transferableLocation } from "./checkpoint-location.js";

export interface JobEvents {
  /** A thread took the job (threadId 0: the main thread). */
  onStart: (threadId: number) => void;
  onLayer: (note: LayerNote) => void;
}

export class AnalysisPool {
  private readonly workers: WorkerPool<AnalysisJob, JobReply, LayerNote>;

  /** `entry`: the bundle's own file, which serves analyses when started as a worker. */
  constructor(size: number, entry: URL) {
    this.workers = new WorkerPool<AnalysisJob, JobReply, LayerNote>(size, () => new Worker(entry, { workerData: ANALYSIS_WORKER_DATA }), {
      label: "analysis worker",
      isNote: isLayerNote,
    });
  }

  async run(job: AnalysisJob, events: JobEvents): Promise<Report> {
    const { location, transfer } = transferableLocation(job.location);
    const reply = await this.workers.run({ task: { ...job, location }, transfer, onStart: events.onStart, onNote: events.onLayer });
    if (reply.kind === "error") throw fromThreadError(reply.error);
    return reply.report;
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}
