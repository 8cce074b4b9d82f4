/** `alphawatch analyze FILE`: per-layer metrics of one checkpoint. */
import { Command, InvalidArgumentError, Option } from "commander";
import type { AnalyzeOptions, CompatMode } from "../../core/report.js";
import type { Io } from "../main.js";
import { analyzePath } from "../analyze-path.js";
import { formatReportTable } from "../output/table.js";
import { formatReportCsv } from "../output/csv.js";
import { renderReportMarkdown } from "../../core/render/markdown.js";
import { renderReportHtml } from "../../core/render/html.js";
import { availableParallelism } from "node:os";
import { addApiOptions, analyzeThroughApi, type ApiFlags } from "./api-options.js";
import { stringifyJson } from "../../core/json.js";

export function parseInteger(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    return Number.parseInt(value, 10);
  };
}

export function parseNonNegativeNumber(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number) || number < 0) {
      throw new InvalidArgumentError(`${name} must be a non-negative number, got "${value}"`);
    }
    return number;
  };
}

/** `--xmax 2` (drop the 2 largest eigenvalues) or `--xmax force`. */
function parseXmax(value: string): number | "force" {
  return value.trim() === "force" ? "force" : parseInteger("--xmax")(value);
}

/** `--layers fc1,fc2 --layers 3`: names, ids and type names; a leading `-` excludes. */
function collectLayers(value: string, previous: Array<string | number> = []): Array<string | number> {
  const entries = value.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  return [...previous, ...entries.map((entry) => (/^-?\d+$/.test(entry) ? Number.parseInt(entry, 10) : entry))];
}

export type OutputFormat = "table" | "json" | "csv" | "markdown" | "html";

/** Options shared by every command that analyzes checkpoints (analyze, compare). */
export function addAnalysisOptions(command: Command): Command {
  return command
    .option("--min-evals <n>", "skip layers with fewer eigenvalues (0: no bound)", parseInteger("--min-evals"))
    .option("--max-evals <n>", "skip layers with more eigenvalues (0: no bound)", parseInteger("--max-evals"))
    .option("--max-N <n>", "skip layers whose larger dimension exceeds n", parseInteger("--max-N"))
    .option("--tolerance <x>", "eigenvalues below x count as weak rank loss", parseNonNegativeNumber("--tolerance"))
    .option("--xmax <k>", "drop the k largest eigenvalues before the power-law fit; \"force\": the powerlaw package's xmax = lambda_max", parseXmax)
    .option("--layers <list>", "select layers by name, id or type (comma-separated; -name excludes)", collectLayers)
    .option("--no-pool", "report each conv2d kernel slice separately")
    .option("--no-conv2d-norm", "do not scale conv2d slices by sqrt(1/2) as weightwatcher does")
    .option("--randomize", "shuffle each matrix's entries: randomized ESD, MP fit of it, correlation traps (rand_num_spikes > 0)")
    .option("--seed <n>", "seed of the randomize generator (numpy's MT19937; default 0)", parseInteger("--seed"))
    .option("--mp-fit", "fit the Marchenko-Pastur law to each ESD (num_spikes, sigma_mp, mp_softrank, bulk edges)")
    .addOption(new Option("--fix-fingers <method>", "remove spurious top eigenvalues before the power-law fit").choices(["clip_xmax", "xmin_peak"]))
    .option("--max-fingers <n>", "clip_xmax: remove at most n top eigenvalues (default 10)", parseInteger("--max-fingers"))
    .option("--finger-thresh <x>", "clip_xmax: accept a clipped fit whose alpha is at least x below the unclipped one (default 1)", parseNonNegativeNumber("--finger-thresh"))
    .addOption(new Option("--fit <family>", "fitted family: power law, truncated power law, or TPL with xmin near the ESD peak").choices(["PL", "TPL", "E_TPL"]))
    .addOption(new Option("--pl-package <fitter>", "power-law fitter: weightwatcher's own, or the powerlaw package's conventions").choices(["ww", "powerlaw"]))
    .option("--xmin-max <x>", "xmin_peak: largest eigenvalue the xmin search may choose", parseNonNegativeNumber("--xmin-max"))
    .option("--detX", "size and lower end of the tail whose rescaled eigenvalue product stays >= 1 (detX_num, detX_val)")
    .option("--inverse", "analyze the eigenvalues 1/λ (zero eigenvalues left out)")
    .option("--glorot-fix", "scale each matrix by sqrt((N+M)·rf/2), undoing the Glorot initialization scale")
    .addOption(new Option("--channels <layout>", "conv2d layout: last = (out, in, kh, kw), first = (kh, kw, in, out)").choices(["first", "last"]))
    .option("--start-ids <n>", "first layer id (weightwatcher's start_ids; 0 means 1)", parseInteger("--start-ids"))
    .option("--vectors", "eigenvector localization metrics")
    .option("--fit-diagnostics", "list every xmin candidate with its KS distance")
    .option("--min-reliable-evals <n>", "fits on fewer eigenvalues are marked few_evals and left out of the reliable means (default 50)", parseInteger("--min-reliable-evals"))
    .addOption(new Option("--svd-method <method>", "weightwatcher's SVD choice, accepted for compatibility (both give the same float64 eigenvalues)").choices(["fast", "accurate"]))
    .addOption(new Option("--compat <mode>", "reproduce weightwatcher 0.7.5.5 exactly (ww: its dict route; ww-file: its file route)").choices(["default", "ww", "ww-file"]))
    .option("--jobs <n>", "analyze layers in parallel on n threads (default: number of cores)", parseInteger("--jobs"));
}

export interface AnalysisFlags {
  minEvals?: number;
  maxEvals?: number;
  maxN?: number;
  tolerance?: number;
  xmax?: number | "force";
  layers?: Array<string | number>;
  pool: boolean;
  conv2dNorm: boolean;
  compat?: CompatMode;
  jobs?: number;
  randomize?: boolean;
  seed?: number;
  mpFit?: boolean;
  fixFingers?: "clip_xmax" | "xmin_peak";
  maxFingers?: number;
  fingerThresh?: number;
  fit?: AnalyzeOptions["fit"];
  plPackage?: AnalyzeOptions["pl_package"];
  xminMax?: number;
  detX?: boolean;
  inverse?: boolean;
  glorotFix?: boolean;
  channels?: "first" | "last";
  startIds?: number;
  vectors?: boolean;
  fitDiagnostics?: boolean;
  minReliableEvals?: number;
  svdMethod?: AnalyzeOptions["svd_method"];
}

export function analysisOptions(flags: AnalysisFlags): Partial<AnalyzeOptions> {
  const options: Partial<AnalyzeOptions> = { pool: flags.pool, conv2d_norm: flags.conv2dNorm };
  if (flags.minEvals !== undefined) options.min_evals = flags.minEvals;
  if (flags.maxEvals !== undefined) options.max_evals = flags.maxEvals;
  if (flags.maxN !== undefined) options.max_N = flags.maxN;
  if (flags.tolerance !== undefined) options.tolerance = flags.tolerance;
  if (flags.xmax !== undefined) options.xmax = flags.xmax;
  if (flags.layers !== undefined) options.layers = flags.layers;
  if (flags.compat !== undefined) options.compat = flags.compat;
  if (flags.randomize === true) options.randomize = true;
  if (flags.seed !== undefined) options.seed = flags.seed;
  if (flags.mpFit === true) options.mp_fit = true;
  if (flags.fixFingers !== undefined) options.fix_fingers = flags.fixFingers;
  if (flags.maxFingers !== undefined) options.max_fingers = flags.maxFingers;
  if (flags.fingerThresh !== undefined) options.finger_thresh = flags.fingerThresh;
  if (flags.fit !== undefined) options.fit = flags.fit;
  if (flags.plPackage !== undefined) options.pl_package = flags.plPackage;
  if (flags.xminMax !== undefined) options.xmin_max = flags.xminMax;
  if (flags.detX === true) options.detX = true;
  if (flags.inverse === true) options.inverse = true;
  if (flags.glorotFix === true) options.glorot_fix = true;
  if (flags.channels !== undefined) options.channels = flags.channels;
  if (flags.startIds !== undefined) options.start_ids = flags.startIds;
  if (flags.fitDiagnostics === true) options.fit_diagnostics = true;
  if (flags.minReliableEvals !== undefined) options.min_reliable_evals = flags.minReliableEvals;
  if (flags.svdMethod !== undefined) options.svd_method = flags.svdMethod;
  if (flags.vectors === true) options.vectors = true;
  return options;
}

export function jobCount(flags: AnalysisFlags): number {
  const jobs = flags.jobs ?? availableParallelism();
  if (jobs < 1) throw new InvalidArgumentError(`--jobs must be at least 1, got ${jobs}`);
  return jobs;
}

export function registerAnalyze(program: Command, io: Io): void {
  const command = program
    .command("analyze")
    .description("analyze every layer of a checkpoint (file, directory or http(s) URL)")
    .argument("<file>", "checkpoint: safetensors, PyTorch, ONNX, GGUF, TF.js, Keras HDF5, NumPy, or a directory/URL of one")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json", "csv", "markdown", "html"]).default("table"))
    .option("--evals", "include each layer's eigenvalues in the JSON report");
  addApiOptions(addAnalysisOptions(command), false).action(async (file: string, flags: AnalysisFlags & ApiFlags & { format: OutputFormat; evals?: boolean }) => {
    if (flags.api !== undefined) return io.stdout(await analyzeThroughApi(file, analysisOptions(flags), { ...flags, api: flags.api }, io, formatReport));
    const report = await analyzePath(file, analysisOptions(flags), {
      io,
      jobs: jobCount(flags),
      keepEvals: flags.evals === true || flags.format === "html",
    });
    io.stdout(formatReport(report, flags.format));
  });
}

export function formatReport(report: Awaited<ReturnType<typeof analyzePath>>, format: OutputFormat): string {
  switch (format) {
    case "json":
      return stringifyJson(report, 2) + "\n";
    case "csv":
      return formatReportCsv(report);
    case "markdown":
      return renderReportMarkdown(report);
    case "html":
      return renderReportHtml(report);
    case "table":
      return formatReportTable(report);
  }
}
