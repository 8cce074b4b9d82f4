/**
 * The worker-thread side of the Action's analysis pool. The bundle starts workers on its own file
 * (there is only one file to ship); a worker recognises itself by its workerData, compiles the
 * embedded kernel once, and analyzes the jobs it is given one at a time with that one kernel.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { instantiateSpectralKernel, type WasmSpectralKernel } from "../../core/spectral/wasm-kernel.js";
import { runAnalysisJob, toThreadError, type AnalysisJob, type JobReply, type LayerNote } from "./analysis-job.js";

/** workerData of an analysis worker. */
export const ANALYSIS_WORKER_DATA = { role: "alphawatch-analysis" } as const;

export function isAnalysisWorker(): boolean {
  return !isMainThread && (workerData as { role?: unknown } | null)?.role === ANALYSIS_WORKER_DATA.role;
}

/** Answers the pool's jobs on this thread's parent port: layer notes while a job runs, then its reply. */
export function serveAnalyses(kernelWasm: Uint8Array): void {
  const port = parentPort;
  if (port === null) throw new Error("serveAnalyses runs in a worker thread");
  let kernel: Promise<WasmSpectralKernel> | undefined;
  const answer = async (job: AnalysisJob): Promise<JobReply> => {
    try {
      kernel ??= WebAssembly.compile(kernelWasm as Uint8Array<ArrayBuffer>).then(instantiateSpectralKernel);
      const report = await runAnalysisJob(job, await kernel, (note: LayerNote) => port.postMessage(note));
      return { kind: "report", report };
    } catch (error) {
      return { kind: "error", error: toThreadError(error) };
    }
  };
  port.on("message", (job: AnalysisJob) => {
    void answer(job).then((reply) => port.postMessage(reply));
  });
}
