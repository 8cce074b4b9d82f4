/**
 * Runs the analyses of a pull request's checkpoint versions: each distinct content once (cached by
 * LFS oid or blob id within the run), with one log line when a version starts and one when it
 * ends. In the runner, on a pool of worker threads (one version per thread at a time), or in the
 * main thread with `jobs: 1`; through the alphawatch Worker API when `api-url` is set.
 */
import { threadId } from "node:worker_threads";
import { describeError } from "../../core/errors.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import { instantiateSpectralKernel, type WasmSpectralKernel } from "../../core/spectral/wasm-kernel.js";
import { runAnalysisJob, type AnalysisJob } from "./analysis-job.js";
import { AnalysisPool, type JobEvents } from "./analysis-pool.js";
import { openLocation } from "./checkpoint-location.js";
import { locateVersion, versionName, type CheckpointVersion, type OpenContext } from "./checkpoint-version.js";
import { analyzeThroughApi, type WorkerApi } from "./worker-api.js";

export interface AnalyzerOptions {
  kernelModule: WebAssembly.Module;
  options: Partial<AnalyzeOptions>;
  open: OpenContext;
  /** Analyses running at once: worker threads, or uploads to the Worker API. */
  jobs: number;
  /** The bundle's own file, started as worker threads; without it analyses run in the main thread. */
  workerEntry?: URL;
  log: (line: string) => void;
  api?: WorkerApi;
}

export interface Analyzer {
  analyze(version: CheckpointVersion): Promise<Report>;
  /** Stops the worker threads (the process would not end while they live). */
  close(): Promise<void>;
}

/** At most `limit` calls of `task` run at once; the others wait in order. */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** Where an analysis runs; `run` reports the thread that took it before the work starts. */
interface JobRunner {
  /** For the log: "on 2 worker threads". */
  where: string;
  run(job: AnalysisJob, events: JobEvents): Promise<Report>;
  close(): Promise<void>;
}

/** One version after the other in this thread, with one kernel (analyses never overlap here). */
function mainThreadRunner(kernelModule: WebAssembly.Module): JobRunner {
  let kernel: Promise<WasmSpectralKernel> | undefined;
  return {
    where: "one at a time in the main thread",
    async run(job, events) {
      kernel ??= instantiateSpectralKernel(kernelModule);
      events.onStart(threadId);
      return runAnalysisJob(job, await kernel, events.onLayer);
    },
    close: async () => undefined,
  };
}

function workerThreadRunner(size: number, entry: URL): JobRunner {
  const pool = new AnalysisPool(size, entry);
  return { where: `on ${size} worker threads`, run: (job, events) => pool.run(job, events), close: () => pool.close() };
}

/** Uploads each version to the Worker API, which analyzes it; the runner only waits. */
function workerApiRunner(api: WorkerApi, log: (line: string) => void): JobRunner {
  return {
    where: `through the Worker API at ${api.url}`,
    async run(job, events) {
      events.onStart(threadId);
      const opened = await openLocation(job.name, job.location, job.lfsSize);
      try {
        return await analyzeThroughApi(api, opened.source, apiObjectKey(job), log);
      } finally {
        await opened.close();
      }
    },
    close: async () => undefined,
  };
}

/** Object key of a version in the Worker API's store: by content, then file name. */
function apiObjectKey(job: AnalysisJob & { contentKey?: string }): string {
  return job.contentKey ?? job.name;
}

export function createAnalyzer(settings: AnalyzerOptions): Analyzer {
  const cache = new Map<string, Promise<Report>>();
  const jobs = Math.max(1, settings.jobs);
  const runner =
    settings.api !== undefined
      ? workerApiRunner(settings.api, settings.log)
      : jobs > 1 && settings.workerEntry !== undefined
        ? workerThreadRunner(jobs, settings.workerEntry)
        : mainThreadRunner(settings.kernelModule);
  // Bounds what is read ahead: git blobs are read whole in the main thread before a thread takes them.
  const limit = concurrencyLimit(jobs);
  let started = 0;

  async function run(version: CheckpointVersion): Promise<Report> {
    const label = versionName(version);
    const ordinal = ++started;
    const t0 = performance.now();
    const size = `${(version.size / 2 ** 20).toFixed(1)} MiB${version.lfs === undefined ? "" : ", Git LFS"}`;
    try {
      const job: AnalysisJob = {
        name: label,
        location: await locateVersion(version, settings.open),
        options: settings.options,
        // An LFS object is named by its SHA-256 already: no need to read it whole to hash it.
        hashSource: version.lfs === undefined,
        ...(version.lfs === undefined ? {} : { lfsSize: version.lfs.size }),
      };
      const report = await runner.run(job, {
        onStart: (thread) => settings.log(`[${ordinal}] analyzing ${label} (${size}) ${thread === 0 ? "in the main thread" : `on worker thread ${thread}`}`),
        onLayer: (note) => settings.log(`[${ordinal}]   layer ${note.done}/${note.total} ${note.name}`),
      });
      if (version.lfs !== undefined) report.source.sha256 = version.lfs.oid;
      settings.log(`[${ordinal}] done ${label}: ${report.layers.length} layers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return report;
    } catch (error) {
      settings.log(`[${ordinal}] failed ${label}: ${describeError(error)}`);
      throw error;
    }
  }

  return {
    analyze(version) {
      let pending = cache.get(version.key);
      if (pending === undefined) {
        if (cache.size === 0) settings.log(`analyzing checkpoint versions ${runner.where}`);
        pending = limit(() => run(version));
        cache.set(version.key, pending);
      }
      return pending;
    },
    close: () => runner.close(),
  };
}
