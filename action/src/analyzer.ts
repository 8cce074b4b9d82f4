/**
 * Runs the analyses of a pull request's checkpoint versions: each distinct content once (cached by
 * LFS oid or blob id within the run), several at a time, with progress in the log. In the runner
 * by default; through the alphawatch Worker API when `api-url` is set.
 */
import { analyze } from "../../core/analyze.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import { instantiateSpectralKernel } from "../../core/spectral/wasm-kernel.js";
import { openVersion, versionName, type CheckpointVersion, type OpenContext } from "./checkpoint-version.js";
import { analyzeThroughApi, type WorkerApi } from "./worker-api.js";

export interface AnalyzerOptions {
  kernelModule: WebAssembly.Module;
  options: Partial<AnalyzeOptions>;
  open: OpenContext;
  /** Analyses running at once. */
  concurrency: number;
  log: (line: string) => void;
  api?: WorkerApi;
}

export interface Analyzer {
  analyze(version: CheckpointVersion): Promise<Report>;
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

/** How often to log layer progress: every layer for small models, about every 10% for large ones. */
function progressStep(total: number): number {
  return total <= 20 ? 1 : Math.ceil(total / 10);
}

export function createAnalyzer(settings: AnalyzerOptions): Analyzer {
  const cache = new Map<string, Promise<Report>>();
  const limit = concurrencyLimit(Math.max(1, settings.concurrency));
  let started = 0;

  async function run(version: CheckpointVersion): Promise<Report> {
    const label = versionName(version);
    const ordinal = ++started;
    const t0 = performance.now();
    settings.log(`[${ordinal}] analyzing ${label} (${(version.size / 2 ** 20).toFixed(1)} MiB${version.lfs === undefined ? "" : ", Git LFS"})`);
    const opened = await openVersion(version, settings.open);
    try {
      let report: Report;
      if (settings.api !== undefined) {
        report = await analyzeThroughApi(settings.api, opened.source, version, settings.log);
      } else {
        const kernel = await instantiateSpectralKernel(settings.kernelModule);
        report = await analyze(opened.source, settings.options, {
          kernel,
          now: () => performance.now(),
          // An LFS object is named by its SHA-256 already: no need to read it whole to hash it.
          hashSource: version.lfs === undefined,
          onProgress: (done, total, name) => {
            if (done % progressStep(total) === 0 || done === total) settings.log(`[${ordinal}]   layer ${done}/${total} ${name}`);
          },
        });
      }
      if (version.lfs !== undefined) report.source.sha256 = version.lfs.oid;
      settings.log(`[${ordinal}] done ${label}: ${report.layers.length} layers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return report;
    } finally {
      await opened.close();
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
  };
}
