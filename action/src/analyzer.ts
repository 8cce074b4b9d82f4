/**
 * Runs the analyses of a pull request's checkpoint versions: each distinct content once (cached by
 * LFS oid or blob id within the run), with one log line when a version starts and one when it
 * ends. In the runner, on a pool of worker threads (one version per thread at a time), or in the
 * main thread with `jobs: 1`; through the alphawatch Worker API when `api-url` is set.
 */
import { describeError } from "../../core/errors.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import { instantiateSpectralKernel, type WasmSpectralKernel } from "../../core/spectral/wasm-kernel.js";
import { runAnalysisJob, type AnalysisJob, type LayerNote } from "./analysis-job.js";
import { AnalysisPool } from "./analysis-pool.js";
import { openLocation } from "./checkpoint-location.js";
import { locateVersion, versionName, type CheckpointVersion, type OpenContext } from "./checkpoint-version.js";
import { analyzeThroughApi, type WorkerApi } from "./worker-api.js";

export interface AnalyzerOptions {
  kernelModule: WebAssembly.Module;
  options: Partial<AnalyzeOptions>;
  open: OpenContext;
  /** Analyses running at once (worker threads, or uploads to the Worker API), at most one per version. */
  jobs: number;
  /** How many distinct versions will be analyzed. */
  versions: number;
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

interface RunnerEvents {
  /** The work starts, at `place` ("on worker thread 3"). */
  onStart: (place: string) => void;
  onLayer: (note: LayerNote) => void;
}

/** Where analyses run. */
interface JobRunner {
  /** For the log: "on 2 worker threads". */
  where: string;
  run(job: AnalysisJob, version: CheckpointVersion, events: RunnerEvents): Promise<Report>;
  close(): Promise<void>;
}

/** One version after the other in this thread, with one kernel (analyses never overlap here). */
function mainThreadRunner(kernelModule: WebAssembly.Module): JobRunner {
  let kernel: Promise<WasmSpectralKernel> | undefined;
  return {
    where: "one at a time in the main thread",
    async run(job, _version, events) {
      kernel ??= instantiateSpectralKernel(kernelModule);
      events.onStart("in the main thread");
      return runAnalysisJob(job, await kernel, events.onLayer);
    },
    close: async () => undefined,
  };
}

function workerThreadRunner(size: number, entry: URL): JobRunner {
  const pool = new AnalysisPool(size, entry);
  return {
    where: `on ${size} worker threads`,
    run: (job, _version, events) => pool.run(job, { onStart: (thread) => events.onStart(`on worker thread ${thread}`), onLayer: events.onLayer }),
    close: () => pool.close(),
  };
}

/** Uploads each version to the Worker API, which analyzes it; the runner only waits. */
function workerApiRunner(api: WorkerApi, log: (line: string) => void): JobRunner {
  return {
    where: `through the Worker API at ${api.url}`,
    async run(job, version, events) {
      events.onStart("through the Worker API");
      const opened = await openLocation(job.name, job.location, job.lfsSize);
      try {
        return await analyzeThroughApi(api, opened.source, version, log);
      } finally {
        await opened.close();
      }
    },
    close: async () => undefined,
  };
}

export function createAnalyzer(settings: AnalyzerOptions): Analyzer {
  const cache = new Map<string, Promise<Report>>();
  const jobs = Math.max(1, Math.min(settings.jobs, settings.versions));
  const runner =
    settings.api !== undefined
      ? workerApiRunner(settings.api, settings.log)
      : jobs > 1 && settings.workerEntry !== undefined
        ? workerThreadRunner(jobs, settings.workerEntry)
        : mainThreadRunner(settings.kernelModule);
  // Bounds what is read ahead: git blobs are read whole in the main thread before a thread takes them.
  const limit = concurrencyLimit(jobs);
  if (settings.versions > 0) settings.log(`${settings.versions} checkpoint version(s) to analyze, ${runner.where}`);
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
      const report = await runner.run(job, version, {
        onStart: (place) => settings.log(`[${ordinal}] analyzing ${label} (${size}) ${place}`),
        onLayer: (note) => settings.log(`[${ordinal}]   layer ${note.done}/${note.total} ${note.name}`),
      });
      if (version.lfs !== undefined) report.source.sha256 = version.lfs.oid;
      settings.log(`[${ordinal}] done ${label}: ${report.layers.length} layers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return report;
    } catch (error) {
      // Errors usually start with the version's name already.
      const message = describeError(error);
      settings.log(`[${ordinal}] failed ${message.startsWith(`${label}: `) ? message : `${label}: ${message}`}`);
      throw error;
    }
  }

  return {
    analyze(version) {
      let pending = cache.get(version.key);
      if (pending === undefined) {
        pending = limit(() => run(version));
        cache.set(version.key, pending);
      }
      return pending;
    },
    close: () => runner.close(),
  };
}
