/**
 * One analysis of one checkpoint version, as a message a worker thread can take: where the bytes
 * are and how to analyze them. The same function runs it in a worker or in the main thread, so
 * both give the same Report. Also the messages a worker answers with, and typed errors across
 * the thread boundary (structured cloning keeps an error's message but not its class, and the
 * verdict of an unreadable file depends on the class).
 */
import { analyze } from "../../core/analyze.js";
import { AlphawatchError, BudgetError, FormatError, SourceError, UnsupportedError, UsageError, describeError, type ErrorKind } from "../../core/errors.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import type { SpectralKernel } from "../../core/spectral/kernel.js";
import { openLocation, type CheckpointLocation } from "./checkpoint-location.js";

export interface AnalysisJob {
  /** Display name in the report and in errors: path@commit. */
  name: string;
  location: CheckpointLocation;
  /** For a Git LFS object: the size its pointer gives, checked against what is read. */
  lfsSize?: number;
  options: Partial<AnalyzeOptions>;
  /** Hash the whole content for the report (not for LFS objects: their oid is the SHA-256). */
  hashSource: boolean;
}

/** A layer-progress line to log: sent while the job runs. */
export interface LayerNote {
  kind: "layer";
  done: number;
  total: number;
  name: string;
}

export interface ThreadError {
  /** The AlphawatchError kind, absent for any other error. */
  errorKind?: ErrorKind;
  message: string;
}

export type JobReply = { kind: "report"; report: Report } | { kind: "error"; error: ThreadError };

export function isLayerNote(message: JobReply | LayerNote): message is LayerNote {
  return message.kind === "layer";
}

/** How often to note layer progress: every layer for small models, about every 10% for large ones. */
function progressStep(total: number): number {
  return total <= 20 ? 1 : Math.ceil(total / 10);
}

export async function runAnalysisJob(job: AnalysisJob, kernel: SpectralKernel, onLayer: (note: LayerNote) => void): Promise<Report> {
  const opened = await openLocation(job.name, job.location, job.lfsSize);
  try {
    return await analyze(opened.source, job.options, {
      kernel,
      now: () => performance.now(),
      hashSource: job.hashSource,
      onProgress: (done, total, name) => {
        if (done % progressStep(total) === 0 || done === total) onLayer({ kind: "layer", done, total, name });
      },
    });
  } finally {
    await opened.close();
  }
}

export function toThreadError(error: unknown): ThreadError {
  return error instanceof AlphawatchError ? { errorKind: error.kind, message: error.message } : { message: describeError(error) };
}

const ERROR_CLASSES: Record<ErrorKind, new (message: string) => AlphawatchError> = {
  format: FormatError,
  unsupported: UnsupportedError,
  budget: BudgetError,
  usage: UsageError,
  io: SourceError,
};

export function fromThreadError(error: ThreadError): Error {
  return error.errorKind === undefined ? new Error(error.message) : new ERROR_CLASSES[error.errorKind](error.message);
}
