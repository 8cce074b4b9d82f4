/**
 * `alphawatch series FILE...`: analyzes a family of checkpoints (in parallel, each distinct
 * content once), then ranks them and, with --labels, tells how each summary metric tracks the
 * target. The statistics live in core/series; this file reads files and formats output.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Command, InvalidArgumentError, Option } from "commander";
import { analyze, resolveOptions, type AnalyzeDeps } from "../../core/analyze.js";
import { AlphawatchError, FormatError, SourceError, UsageError } from "../../core/errors.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import { formatNumber } from "../output/number-format.js";
import { renderSeriesHtml, seriesRuns } from "../../core/render/series-html.js";
import { renderSeriesLayersSvg } from "../../core/render/series-layers.js";
import { renderSeriesScatterSvg } from "../../core/render/series-scatter.js";
import {
  DEFAULT_MIN_FIT_EVALS,
  DEFAULT_RANKING_METRIC,
  DEFAULT_TARGET,
  SERIES_METRICS,
  analyzeSeries,
  isSeriesMetric,
  labelFields,
  parseLabelTable,
  resolveLabelling,
  type LabelSettingNames,
  type LabelTable,
  type SeriesInput,
  type SeriesMetric,
  type SeriesResult,
  type TargetBetter,
  type TargetKind,
} from "../../core/series/index.js";
import { LayerPool } from "../layer-pool.js";
import { loadSpectralKernel } from "../load-kernel.js";
import type { Io } from "../main.js";
import { isUrl, openPath } from "../open-path.js";
import { renderTable } from "../output/table.js";
import { addAnalysisOptions, analysisOptions, jobCount, parseInteger, type AnalysisFlags } from "./analyze.js";
import { stringifyJson } from "../../core/json.js";

export type SeriesFormat = "table" | "json" | "csv" | "html";

/** How the label settings are spelled in messages: as the flags that set them. */
export const LABEL_FLAG_NAMES: LabelSettingNames = {
  labels: "--labels",
  target: "--target",
  group: "--group",
  test_size: "--test-size",
  target_better: "--target-better",
  target_kind: "--target-kind",
};

interface SeriesFlags extends AnalysisFlags {
  labels?: string;
  target?: string;
  group?: string;
  testSize?: number;
  targetBetter?: TargetBetter;
  targetKind?: TargetKind;
  metric: string;
  minFitEvals: number;
  format: SeriesFormat;
  plots?: string;
}

export function registerSeries(program: Command, io: Io): void {
  const command = program
    .command("series")
    .description("rank a family of checkpoints and, with --labels, check how each summary metric tracks a target such as test accuracy")
    .argument("<files...>", "checkpoints of one family (files, directories or http(s) URLs)")
    .option("--labels <file>", "CSV or TSV with a `file` column (path or base name) and numeric columns such as test_acc")
    .option("--target <column>", `labels column to predict (default: ${DEFAULT_TARGET})`)
    .option("--group <column>", "labels column that splits the checkpoints into groups (statistics per group and pooled)")
    .option("--test-size <n>", "test-set size behind the target, for rows without a test_size column", parsePositiveInteger("--test-size"))
    .addOption(new Option("--target-better <which>", "whether a higher or a lower target is better (default: lower for columns named like loss/err, else higher)").choices(["higher", "lower"]))
    .addOption(new Option("--target-kind <kind>", "proportion: a fraction of test samples, so binomial noise applies (default: proportion for columns named like acc/err)").choices(["proportion", "other"]))
    .addOption(new Option("--metric <name>", "summary metric for the ranking (smaller is better)").choices([...SERIES_METRICS]).default(DEFAULT_RANKING_METRIC))
    .option("--min-fit-evals <n>", "reliable_* means use layers whose fit succeeded on at least n eigenvalues", parseNonNegativeInteger("--min-fit-evals"), DEFAULT_MIN_FIT_EVALS)
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv", "html"]).default("table"))
    .option("--plots <dir>", "also write the plots as SVG files into this directory");
  addAnalysisOptions(command).action(async (files: string[], flags: SeriesFlags) => {
    if (!isSeriesMetric(flags.metric)) throw new UsageError(`--metric: "${flags.metric}" is not one of ${SERIES_METRICS.join(", ")}`);
    // Read the labels first: a typo in them should not cost the analyses.
    const labels = flags.labels === undefined ? undefined : await loadLabels(flags.labels);
    const labelling = resolveLabelling(
      labels,
      { target: flags.target, group: flags.group, test_size: flags.testSize, target_better: flags.targetBetter, target_kind: flags.targetKind },
      LABEL_FLAG_NAMES,
    );
    const reports = await analyzeFamily(files, analysisOptions(flags), { io, jobs: jobCount(flags) });
    const inputs: SeriesInput[] = files.map((file, i) => {
      const input: SeriesInput = { file, report: reports[i]!.report };
      const sha256 = reports[i]!.sha256;
      // The file's SHA-256 is both what the output shows and the identity identical files share.
      if (sha256 !== undefined) {
        input.sha256 = sha256;
        input.content_id = `sha256:${sha256}`;
      }
      if (labelling !== undefined) Object.assign(input, labelFields(file, labelling));
      return input;
    });
    const result = analyzeSeries(inputs, {
      min_fit_evals: flags.minFitEvals,
      ranking_metric: flags.metric,
      ...(labelling === undefined ? {} : { target: labelling.target }),
      ...(flags.group === undefined ? {} : { group_column: flags.group }),
    });
    if (flags.plots !== undefined) await writePlots(result, flags.plots);
    io.stdout(formatSeries(result, flags.format));
  });
}

function parsePositiveInteger(name: string) {
  const integer = parseInteger(name);
  return (value: string): number => {
    const n = integer(value);
    if (n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function parseNonNegativeInteger(name: string) {
  const integer = parseInteger(name);
  return (value: string): number => {
    const n = integer(value);
    if (n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got "${value}"`);
    return n;
  };
}

async function loadLabels(file: string): Promise<LabelTable> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`${file}: cannot read labels (${code === "ENOENT" ? "no such file" : code ?? String(error)})`);
  }
  return parseLabelTable(text, file);
}

/** SHA-256 of a local file, streamed; undefined for directories and URLs (the report's own hash is used then). */
async function fileSha256(file: string): Promise<string | undefined> {
  if (isUrl(file)) return undefined;
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`${file}: ${code === "ENOENT" ? "no such file or directory" : `cannot read (${code ?? String(error)})`}`);
  }
  if (!info.isFile()) return undefined;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

interface AnalyzedCheckpoint {
  report: Report;
  sha256?: string;
}

/**
 * Analyzes every file; files with the same content are analyzed once. With jobs > 1 one pool of
 * worker threads serves the layers of all files at once, so small checkpoints run side by side.
 */
export async function analyzeFamily(files: readonly string[], options: Partial<AnalyzeOptions>, settings: { io: Io; jobs: number }): Promise<AnalyzedCheckpoint[]> {
  const resolved = resolveOptions(options);
  const hashes = await Promise.all(files.map(fileSha256));
  const kernel = await loadSpectralKernel();
  const pool = settings.jobs > 1 ? new LayerPool(settings.jobs) : undefined;
  const analyzeOne = async (target: string): Promise<Report> => {
    const model = await openPath(target);
    const deps: AnalyzeDeps = { kernel, openIndex: model.openIndex, hashSource: model.hashable, now: () => performance.now() };
    if (pool !== undefined) {
      deps.runLayer = async (layer) => {
        const reply = await pool.run({ target, options: resolved, layer_id: layer.layer_id, slice_id: layer.slice_id, keepEvals: false });
        if (reply.ok) return reply.outcome;
        throw reply.exitCode === 2 ? new AlphawatchError("usage", reply.message, 2) : new FormatError(reply.message);
      };
    }
    return analyze(model.source, resolved, deps);
  };
  // One analysis per distinct content (a path stands in for content it could not hash beforehand).
  const keys = files.map((file, i) => hashes[i] ?? `path:${file}`);
  const firstFile = new Map<string, string>();
  keys.forEach((key, i) => {
    if (!firstFile.has(key)) firstFile.set(key, files[i]!);
  });
  const byContent = new Map<string, Report>();
  try {
    if (pool !== undefined) {
      await Promise.all([...firstFile].map(async ([key, file]) => byContent.set(key, await analyzeOne(file))));
    } else {
      // One kernel in this thread: analyses run one after the other.
      for (const [key, file] of firstFile) byContent.set(key, await analyzeOne(file));
    }
  } finally {
    await pool?.close();
  }
  return files.map((file, i) => {
    const report = byContent.get(keys[i]!)!;
    const analyzed: AnalyzedCheckpoint = { report: { ...report, source: { ...report.source, path: file } } };
    const sha256 = hashes[i] ?? report.source.sha256;
    if (sha256 !== undefined) analyzed.sha256 = sha256;
    return analyzed;
  });
}

async function writePlots(result: SeriesResult, dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (result.settings.target !== undefined) {
      for (const metric of SERIES_METRICS) await writeFile(path.join(dir, `${metric}.svg`), renderSeriesScatterSvg(result, metric) + "\n");
    }
    for (const run of seriesRuns(result)) {
      const name = `layers-${run.name.replace(/[^A-Za-z0-9_.-]+/g, "_")}.svg`;
      await writeFile(path.join(dir, name), renderSeriesLayersSvg(`Per-layer alpha: ${run.name}`, run.checkpoints, result.settings.min_fit_evals) + "\n");
    }
  } catch (error) {
    if (error instanceof AlphawatchError) throw error;
    throw new SourceError(`${dir}: cannot write plots (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export function formatSeries(result: SeriesResult, format: SeriesFormat): string {
  switch (format) {
    case "json":
      return stringifyJson(result, 2) + "\n";
    case "csv":
      return formatSeriesCsv(result);
    case "html":
      return renderSeriesHtml(result);
    case "table":
      return formatSeriesTable(result);
  }
}

function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One row per checkpoint: file, hash, group, target, every summary metric at full precision. */
export function formatSeriesCsv(result: SeriesResult): string {
  const target = result.settings.target;
  const head = ["file", "sha256", ...(result.groups ? [result.groups.column] : []), ...(target ? [target.column] : []), ...SERIES_METRICS, "num_layers", "num_reliable_layers", "num_failed_fits"];
  const lines = [head.map(csvCell).join(",")];
  for (const c of result.checkpoints) {
    lines.push(
      [
        c.file,
        c.sha256,
        ...(result.groups ? [c.group ?? ""] : []),
        ...(target ? [c.target] : []),
        ...SERIES_METRICS.map((m) => c.summary[m]),
        c.summary.num_layers,
        c.summary.num_reliable_layers,
        c.summary.num_failed_fits,
      ]
        .map(csvCell)
        .join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/** The columns of the terminal table: the default metrics and weightwatcher's plain mean alpha. */
const TABLE_METRICS: readonly SeriesMetric[] = ["reliable_alpha", "sigma_weighted_alpha", "ww_alpha", "ww_log_spectral_norm", "ww_stable_rank"];

export function formatSeriesTable(result: SeriesResult): string {
  const target = result.settings.target;
  const rankOf = new Map(result.ranking.order.map((file, i) => [file, i + 1]));
  const metrics = [...new Set<SeriesMetric>([result.ranking.metric, ...TABLE_METRICS])];
  const head = ["rank", "file", ...(result.groups ? [result.groups.column] : []), ...(target ? [target.column] : []), ...metrics, "reliable"];
  const rows = result.checkpoints.map((c) => [
    String(rankOf.get(c.file) ?? "-"),
    c.file,
    ...(result.groups ? [c.group ?? ""] : []),
    ...(target ? [formatNumber(c.target, 4)] : []),
    ...metrics.map((m) => formatNumber(c.summary[m])),
    `${c.summary.num_reliable_layers}/${c.summary.num_layers}`,
  ]);
  const textColumns = result.groups ? 3 : 2;
  const align = head.map((_, i) => (i >= 1 && i < textColumns ? "left" : "right") as "left" | "right");
  const lines = [`${result.checkpoints.length} checkpoints, ranked by ${result.ranking.metric} (smaller is better)`, "", renderTable([head, ...rows], align)];
  if (target !== undefined) {
    lines.push("", `Against ${target.column} (${target.better} is better)${result.groups ? ", all groups pooled" : ""}:`);
    lines.push(metricsTable(result.metrics));
    if (result.groups !== undefined) {
      for (const [name, analysis] of Object.entries(result.groups.by_group)) {
        lines.push("", `${result.groups.column} = ${name === "" ? "(none)" : name} (${analysis.n} checkpoints; ${analysis.noise.explanation}):`);
        lines.push(metricsTable(analysis.metrics));
      }
    }
  }
  if (result.notes.length > 0) lines.push("", "Notes:", ...result.notes.map((n) => `  - ${n}`));
  return lines.join("\n") + "\n";
}

function metricsTable(metrics: SeriesResult["metrics"]): string {
  const head = ["metric", "n", "spearman", "p", "kendall", "p", "r2", "rmse", "conclusion"];
  const rows = SERIES_METRICS.filter((m) => metrics[m] !== undefined).map((m) => {
    const a = metrics[m]!;
    return [m, String(a.n), formatNumber(a.spearman), formatNumber(a.spearman_p), formatNumber(a.kendall), formatNumber(a.kendall_p), formatNumber(a.r2), formatNumber(a.rmse, 4), a.conclusion];
  });
  return renderTable([head, ...rows], head.map((_, i) => (i === 0 || i === head.length - 1 ? "left" : "right")));
}
