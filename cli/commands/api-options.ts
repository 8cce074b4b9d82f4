/**
 * The CLI as a client of the Worker API: `--api URL --api-key KEY` (the key also from
 * ALPHAWATCH_API_KEY), shared by `analyze` and `upload`, and the analyze branch that runs there.
 */
import { Command, Option } from "commander";
import { UsageError } from "../../core/errors.js";
import type { AnalyzeOptions, Report } from "../../core/report.js";
import { ApiClient, r2KeyOf, type AnalysisView } from "../api-client.js";
import type { Io } from "../main.js";

export const API_KEY_ENV = "ALPHAWATCH_API_KEY";

export interface ApiFlags {
  api?: string;
  apiKey?: string;
}

export function addApiOptions(command: Command, required: boolean): Command {
  const api = new Option("--api <url>", "the alphawatch Worker API to run on (for example http://127.0.0.1:8787)");
  return command
    .addOption(required ? api.makeOptionMandatory() : api)
    .addOption(new Option("--api-key <key>", "API key for --api").env(API_KEY_ENV));
}

export function apiClient(flags: ApiFlags & { api: string }): ApiClient {
  if (flags.apiKey === undefined) throw new UsageError(`--api needs --api-key KEY (or ${API_KEY_ENV} in the environment)`);
  return new ApiClient({ baseUrl: flags.api, apiKey: flags.apiKey });
}

export type ReportFormatter = (report: Report, format: ApiOutputFormat) => string;
export type ApiOutputFormat = "table" | "json" | "csv" | "markdown" | "html";

/**
 * `alphawatch analyze --api URL r2://KEY`: the analysis runs in the Worker; the report is printed
 * with the local renderers, except HTML, which the API renders with the eigenvalues it keeps.
 */
export async function analyzeThroughApi(
  target: string,
  options: Partial<AnalyzeOptions>,
  flags: ApiFlags & { api: string; format: ApiOutputFormat; evals?: boolean },
  io: Io,
  formatReport: ReportFormatter,
): Promise<string> {
  const key = r2KeyOf(target);
  if (flags.evals === true) throw new UsageError(`${target}: --evals is not available with --api (the API keeps eigenvalues for its plots only)`);
  const client = apiClient(flags);
  let shown = "";
  const view = await client.analyze(key, options, (progress: AnalysisView) => {
    if (!io.interactive) return;
    const line = `${target}: analysis ${progress.id} ${progress.status}, ${progress.progress.layers_done}/${progress.progress.layers_total} layers`;
    if (line !== shown) io.stderr(`${line}\n`);
    shown = line;
  });
  if (flags.format === "html") return client.renderedReport(view.id, "html", target);
  return formatReport(view.report, flags.format);
}
