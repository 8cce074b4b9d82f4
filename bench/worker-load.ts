/**
 * Load test of the Worker API under `wrangler dev` (loopback only): many concurrent analyses,
 * half analyzed inside the request and half fanned out over the Queue, every model submitted
 * twice at once. Bounded in count and time; it stops by itself. Checks that none is lost and none
 * duplicated (through the API: the R2 listing of the uploads, the model's version history in D1,
 * one analysis id per model) and that every report has the numbers of a local analysis; reports
 * the throughput and writes it into docs/worker.md. Run with `npm run bench:worker`
 * (`-- --analyses 40 --concurrency 8 --time-limit 180`, or `--url URL --api-key KEY` for a running
 * loopback `wrangler dev`).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { Report } from "../core/report.js";
import { ApiClient, type AnalysisView } from "../cli/api-client.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { packageRoot } from "../cli/package-root.js";
import { randomValues, safetensorsBytes } from "./f32-safetensors.js";
import { startWranglerDev, wranglerBin, type DevServer } from "./wrangler-dev.js";

/** Models up to this size are analyzed in the request; the larger ones are fanned out. */
const INLINE_MAX_BYTES = 131_072;
const MARK_BEGIN = "<!-- worker-load:begin";
const MARK_END = "<!-- worker-load:end -->";

interface Flags {
  analyses: number;
  concurrency: number;
  timeLimitS: number;
  url: string | undefined;
  apiKey: string | undefined;
  writeDocs: boolean;
}

function readFlags(): Flags {
  const { values } = parseArgs({
    options: {
      analyses: { type: "string", default: "40" },
      concurrency: { type: "string", default: "8" },
      "time-limit": { type: "string", default: "180" },
      url: { type: "string" },
      "api-key": { type: "string" },
      "no-docs": { type: "boolean", default: false },
    },
  });
  const integer = (name: string, value: string, min: number, max: number): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`--${name} must be an integer in [${min}, ${max}], got "${value}"`);
    return parsed;
  };
  const url = values.url;
  if (url !== undefined && !["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname)) {
    throw new Error(`--url must be a loopback address (the load test never leaves the machine), got ${url}`);
  }
  return {
    // Bounded: at most 500 analyses, 64 at a time, 15 minutes.
    analyses: integer("analyses", values.analyses, 2, 500),
    concurrency: integer("concurrency", values.concurrency, 1, 64),
    timeLimitS: integer("time-limit", values["time-limit"], 10, 900),
    url,
    apiKey: values["api-key"],
    writeDocs: !values["no-docs"],
  };
}

interface LoadModel {
  index: number;
  version: string;
  key: string;
  file: string;
  bytes: Uint8Array;
  fannedOut: boolean;
}

/** Even indices: one 96x64 layer (25 KB, inline). Odd: three 256x128 layers (393 KB, fanned out). */
function loadModel(index: number, run: string, folder: string): LoadModel {
  const seed = 1000 + index * 7;
  const fannedOut = index % 2 === 1;
  const bytes = fannedOut
    ? safetensorsBytes([0, 1, 2].map((layer) => ({ name: `block${layer}.weight`, shape: [256, 128], values: randomValues(seed + layer, 256 * 128) })))
    : safetensorsBytes([
        { name: "fc.weight", shape: [96, 64], values: randomValues(seed, 96 * 64) },
        { name: "fc.bias", shape: [96], values: randomValues(seed + 1, 96) },
      ]);
  const version = `v${String(index).padStart(4, "0")}`;
  const file = path.join(folder, `${version}.safetensors`);
  writeFileSync(file, bytes);
  return { index, version, key: `load/${run}/${version}/model.safetensors`, file, bytes, fannedOut };
}

/** Runs `jobs` with at most `concurrency` at once; the rest are not started after the deadline. */
async function runPool<T>(jobs: Array<() => Promise<T>>, concurrency: number, deadline: number): Promise<Array<T | undefined>> {
  const results: Array<T | undefined> = new Array(jobs.length).fill(undefined);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && performance.now() < deadline) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return results;
}

interface Submission {
  model: LoadModel;
  ok: boolean;
  id: string | null;
  error: string | null;
  deduplicated: boolean | null;
  latencyMs: number;
  report: Report | null;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function wranglerVersion(): string {
  const result = spawnSync(wranglerBin(), ["--version"], { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  return /\d+\.\d+\.\d+/.exec(result.stdout ?? "")?.[0] ?? "unknown";
}

async function main(): Promise<number> {
  const flags = readFlags();
  const run = randomBytes(4).toString("hex");
  const modelName = `load-${run}`;
  const folder = mkdtempSync(path.join(os.tmpdir(), "alphawatch-load-"));
  let server: DevServer | undefined;
  const checks: string[] = [];
  const problems: string[] = [];
  try {
    if (flags.url === undefined) {
      console.log(`starting wrangler dev (INLINE_MAX_BYTES=${INLINE_MAX_BYTES}) ...`);
      server = await startWranglerDev({ vars: { INLINE_MAX_BYTES: String(INLINE_MAX_BYTES) } });
    } else if (flags.apiKey === undefined) {
      throw new Error("--url needs --api-key");
    }
    const url = server?.url ?? flags.url!;
    const apiKey = server?.apiKey ?? flags.apiKey!;
    const started = performance.now();
    const deadline = started + flags.timeLimitS * 1000;
    const client = new ApiClient({ baseUrl: url, apiKey, pollIntervalMs: 100, maxPollIntervalMs: 500, timeoutMs: flags.timeLimitS * 1000 });

    const models = Array.from({ length: flags.analyses }, (_, index) => loadModel(index, run, folder));
    const uploadStart = performance.now();
    await runPool(models.map((model) => () => client.upload(model.file, model.key)), flags.concurrency, deadline);
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    console.log(`uploaded ${models.length} models in ${uploadSeconds.toFixed(1)} s`);

    // Every model twice, the two submissions next to each other so they race.
    const submit = (model: LoadModel) => async (): Promise<Submission> => {
      const t0 = performance.now();
      try {
        let first: AnalysisView | undefined;
        const view = await client.analyze(model.key, {}, (progress) => (first ??= progress), { model: modelName, version: model.version });
        first ??= view;
        return { model, ok: true, id: view.id, error: null, deduplicated: first.deduplicated ?? null, latencyMs: performance.now() - t0, report: view.report };
      } catch (error) {
        return { model, ok: false, id: null, error: error instanceof Error ? error.message : String(error), deduplicated: null, latencyMs: performance.now() - t0, report: null };
      }
    };
    const jobs = models.flatMap((model) => [submit(model), submit(model)]);
    const analysisStart = performance.now();
    const results = await runPool(jobs, flags.concurrency, deadline);
    const analysisSeconds = (performance.now() - analysisStart) / 1000;

    // None lost: every submission ran and ended done.
    const submissions = results.filter((result): result is Submission => result !== undefined);
    const notRun = results.length - submissions.length;
    const failed = submissions.filter((submission) => !submission.ok);
    if (notRun > 0) problems.push(`${notRun} submissions not started within the time limit`);
    for (const failure of failed.slice(0, 5)) problems.push(`${failure.model.key}: ${failure.error}`);
    if (failed.length > 0) problems.push(`${failed.length} submissions failed`);
    checks.push(`${submissions.length - failed.length} of ${jobs.length} submissions done`);

    // None duplicated: the two submissions of a model share one analysis; the ids are distinct across models.
    const idsByModel = new Map<string, Set<string>>();
    for (const submission of submissions) {
      if (submission.id === null) continue;
      const ids = idsByModel.get(submission.model.version) ?? new Set<string>();
      ids.add(submission.id);
      idsByModel.set(submission.model.version, ids);
    }
    const split = [...idsByModel.entries()].filter(([, ids]) => ids.size !== 1);
    if (split.length > 0) problems.push(`${split.length} models got more than one analysis (first: ${split[0]![0]})`);
    const allIds = new Set(submissions.flatMap((submission) => (submission.id === null ? [] : [submission.id])));
    if (allIds.size !== idsByModel.size) problems.push(`${idsByModel.size} models but ${allIds.size} distinct analysis ids`);
    checks.push(`${allIds.size} distinct analyses for ${idsByModel.size} models (each submitted twice)`);

    // Through the API: R2 holds exactly the uploads; D1's history has each version once, with its one analysis, done.
    const listed = (await client.listObjects(`load/${run}/`)).map((object) => object.key).sort();
    const expectedKeys = models.map((model) => model.key).sort();
    if (JSON.stringify(listed) !== JSON.stringify(expectedKeys)) problems.push(`R2 lists ${listed.length} objects under load/${run}/, expected ${expectedKeys.length}`);
    checks.push(`R2 listing: ${listed.length} objects, as uploaded`);
    const historyResponse = await fetch(`${url}/v1/models/${modelName}/history`, { headers: { authorization: `Bearer ${apiKey}` } });
    const history = (await historyResponse.json()) as { versions?: Array<{ version: string; analysis_id: string | null; status: string | null }> };
    const versions = history.versions ?? [];
    const versionNames = new Set(versions.map((entry) => entry.version));
    const notDone = versions.filter((entry) => entry.status !== "done");
    const mismatched = versions.filter((entry) => entry.analysis_id === null || !(idsByModel.get(entry.version)?.has(entry.analysis_id) ?? false));
    if (versions.length !== models.length || versionNames.size !== models.length) problems.push(`D1 history has ${versions.length} entries (${versionNames.size} versions), expected ${models.length}`);
    if (notDone.length > 0) problems.push(`${notDone.length} versions not done in D1`);
    if (mismatched.length > 0) problems.push(`${mismatched.length} versions point at another analysis than the API answered`);
    checks.push(`D1 history: ${versions.length} versions, ${versions.length - notDone.length} done, each with the analysis the API answered`);

    // Numbers: each report as a local analysis of the same bytes.
    const kernel = await loadSpectralKernel();
    let compared = 0;
    const checkedModels = new Set<string>();
    for (const submission of submissions) {
      if (submission.report === null || checkedModels.has(submission.model.version)) continue;
      checkedModels.add(submission.model.version);
      const local = await analyze(bytesSource(submission.model.bytes, submission.model.file), {}, { kernel });
      const remoteAlphas = submission.report.layers.map((layer) => layer.alpha);
      const localAlphas = local.layers.map((layer) => layer.alpha);
      const close = (a: number | null, b: number | null | undefined) =>
        a === null || b === null || b === undefined ? a === b : Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
      const same = remoteAlphas.length === localAlphas.length && remoteAlphas.every((alpha, i) => close(alpha, localAlphas[i]));
      if (!same) problems.push(`${submission.model.key}: alphas ${JSON.stringify(remoteAlphas)} differ from the local ${JSON.stringify(localAlphas)}`);
      compared++;
    }
    checks.push(`${compared} reports with the alphas of a local analysis`);

    const done = submissions.filter((submission) => submission.ok);
    const latency = (fannedOut: boolean) =>
      done.filter((submission) => submission.model.fannedOut === fannedOut).map((submission) => submission.latencyMs).sort((a, b) => a - b);
    const inlineLatency = latency(false);
    const fanoutLatency = latency(true);
    const layersAnalyzed = models.reduce((sum, model) => sum + (model.fannedOut ? 3 : 1), 0);
    const cpuModel = existsSync("/proc/cpuinfo") ? /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] : undefined;
    const machine = `${cpuModel ?? os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}; wrangler ${wranglerVersion()} (local workerd); load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`;
    const figures = [
      `- ${flags.analyses} models (${flags.analyses - Math.floor(flags.analyses / 2)} of one 96x64 layer, analyzed in the request; ${Math.floor(flags.analyses / 2)} of three 256x128 layers, fanned out one Queue message per layer), each submitted twice at once: ${jobs.length} POST /v1/analyses, ${flags.concurrency} clients at a time.`,
      `- Uploads: ${models.length} in ${uploadSeconds.toFixed(1)} s.`,
      `- Analyses: ${allIds.size} (${layersAnalyzed} layers) in ${analysisSeconds.toFixed(1)} s: **${(allIds.size / analysisSeconds).toFixed(2)} analyses/s, ${(layersAnalyzed / analysisSeconds).toFixed(1)} layers/s**.`,
      `- Latency of a submission until its report (p50 / p95 / max): inline ${fmt(quantile(inlineLatency, 0.5))} / ${fmt(quantile(inlineLatency, 0.95))} / ${fmt(inlineLatency.at(-1) ?? NaN)} ms; fanned out ${fmt(quantile(fanoutLatency, 0.5))} / ${fmt(quantile(fanoutLatency, 0.95))} / ${fmt(fanoutLatency.at(-1) ?? NaN)} ms.`,
      ...checks.map((check) => `- Check: ${check}.`),
      problems.length === 0 ? "- Result: none lost, none duplicated." : `- Result: PROBLEMS: ${problems.join("; ")}.`,
    ];
    console.log(machine);
    for (const line of figures) console.log(line);
    if (flags.writeDocs) {
      writeDoc([
        `${MARK_BEGIN} (written by \`npm run bench:worker\`; edits between these markers are overwritten) -->`,
        `Run of ${new Date().toISOString().slice(0, 10)} on ${machine}.`,
        "",
        ...figures,
        MARK_END,
      ].join("\n"));
      console.log("figures written to docs/worker.md");
    }
    return problems.length === 0 ? 0 : 1;
  } finally {
    await server?.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(0) : "-";
}

function writeDoc(generated: string): void {
  const doc = path.join(packageRoot(), "docs", "worker.md");
  const previous = readFileSync(doc, "utf8");
  const begin = previous.indexOf(MARK_BEGIN);
  const end = previous.indexOf(MARK_END);
  const next =
    begin >= 0 && end > begin
      ? previous.slice(0, begin) + generated + previous.slice(end + MARK_END.length)
      : `${previous.trimEnd()}\n\n## Load test (measured)\n\n${generated}\n`;
  writeFileSync(doc, next);
}

process.exitCode = await main();
