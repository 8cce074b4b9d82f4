/**
 * The Action's run: inputs, then either analyze the pull request (mode analyze) or post a report an
 * earlier, unprivileged run produced (mode comment). Always writes the job summary and the report
 * file; comments when it may; fails the step per `fail-on`.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as core from "@actions/core";
import { getOctokit } from "@actions/github";
import { describeError, UsageError } from "../../core/errors.js";
import { checkActionReport, failsCheck, type ActionReport } from "./action-report.js";
import { COMMENT_MARKER, renderActionComment } from "./comment-body.js";
import { gitIn } from "./git.js";
import { httpStatus, pullRequestHeadSha, repoRef, upsertComment, type GitHubClient } from "./github-api.js";
import { envInputReader, readInputs, type ActionInputs } from "./inputs.js";
import { pullRequestFromEvent } from "./pull-request.js";
import { analyzePullRequest } from "./run-pull-request.js";
import { parseJson, stringifyJson } from "../../core/json.js";

export interface ActionHost {
  /** The spectral kernel's WebAssembly bytes (embedded in the bundle). */
  kernelWasm: Uint8Array;
  env: NodeJS.ProcessEnv;
  /** The bundle's own file: started as worker threads, it analyzes checkpoints (see analysis-worker.ts). */
  workerEntry?: URL;
}

const SAFE_COMMENTING = "see docs/workflows/ of alphawatch: a pull_request workflow uploads the report, a workflow_run workflow posts it with mode: comment";

function readEvent(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const file = env.GITHUB_EVENT_PATH;
  if (file === undefined || file === "") throw new UsageError("GITHUB_EVENT_PATH is not set: the Action runs inside a GitHub Actions job");
  return readFile(file, "utf8").then((text) => JSON.parse(text) as Record<string, unknown>);
}

function runUrl(env: NodeJS.ProcessEnv): string {
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  return env.GITHUB_RUN_ID === undefined ? "the workflow run's summary" : `[the workflow run](${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}) (job summary, \`report\` output)`;
}

async function writeReport(report: ActionReport, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = path.join(env.RUNNER_TEMP || tmpdir(), "alphawatch");
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `report-pr${report.pull_request}.json`);
  await writeFile(file, stringifyJson(report, 2) + "\n");
  return file;
}

/** Posts or updates the comment; a refused write (fork token, missing permission) only warns. */
async function comment(client: GitHubClient | undefined, report: ActionReport, body: string, createIfMissing: boolean): Promise<string | undefined> {
  if (client === undefined) {
    core.warning("no github-token: the report is in the job summary only");
    return undefined;
  }
  try {
    const posted = await upsertComment(client, repoRef(report.repository), report.pull_request, COMMENT_MARKER, body, createIfMissing);
    if (posted === undefined) return undefined;
    core.info(`${posted.created ? "created" : "updated"} comment ${posted.url}`);
    return posted.url;
  } catch (error) {
    const status = httpStatus(error);
    if (status === 403 || status === 404) {
      core.warning(`cannot comment on pull request #${report.pull_request} (HTTP ${status}: the token may be read-only); the report is in the job summary and the report output; to comment safely, ${SAFE_COMMENTING}`);
      return undefined;
    }
    throw error;
  }
}

async function publish(report: ActionReport, inputs: ActionInputs, env: NodeJS.ProcessEnv, client: GitHubClient | undefined, mayComment: boolean): Promise<void> {
  const body = renderActionComment(report, { fullReport: runUrl(env) });
  const file = await writeReport(report, env);
  core.info(`report written to ${file}`);
  if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(body).write();
  for (const f of report.files) {
    if (f.verdict === "pass") continue;
    const layers = report.regressions.filter((r) => r.file === f.path && r.layer !== undefined).map((r) => r.layer);
    const what = f.outcome === "error" ? `cannot be read: ${f.error}` : layers.length > 0 ? `layers ${layers.join(", ")}` : (report.regressions.find((r) => r.file === f.path)?.reason ?? "");
    core.warning(`alphawatch ${f.verdict}: ${what}`, { file: f.path, title: `alphawatch: ${f.verdict}` });
  }
  let url: string | undefined;
  if (mayComment && inputs.comment !== "never") url = await comment(client, report, body, inputs.comment === "always" || report.files.length > 0);
  core.setOutput("verdict", report.verdict);
  core.setOutput("regressions", JSON.stringify(report.regressions));
  core.setOutput("report", file);
  if (url !== undefined) core.setOutput("comment-url", url);
  core.info(`verdict: ${report.verdict}`);
  if (failsCheck(report.verdict, inputs.failOn)) {
    // Layer reasons start with the layer name already.
    const first = report.regressions.slice(0, 3).map((r) => `${r.file}: ${r.reason}`);
    core.setFailed(`alphawatch verdict ${report.verdict} (fail-on: ${inputs.failOn})${first.length > 0 ? `: ${first.join(" | ")}` : ""}`);
  }
}

/** mode comment: posts a report written by an earlier run, after checking it concerns this repository's pull request at its current head. */
async function postEarlierReport(inputs: ActionInputs, env: NodeJS.ProcessEnv, client: GitHubClient | undefined): Promise<void> {
  const file = inputs.reportFile!;
  let data: unknown;
  try {
    data = parseJson(await readFile(file, "utf8"));
  } catch (error) {
    throw new UsageError(`input report-file: cannot read ${file} (${describeError(error)})`);
  }
  const report = checkActionReport(data, file);
  if (report.repository !== env.GITHUB_REPOSITORY) {
    throw new UsageError(`${file}: the report is about ${report.repository}, this run is in ${env.GITHUB_REPOSITORY}`);
  }
  const event = await readEvent(env);
  const runHead = (event.workflow_run as { head_sha?: unknown } | undefined)?.head_sha;
  if (typeof runHead === "string" && runHead !== report.head_sha) {
    throw new UsageError(`${file}: the report is about commit ${report.head_sha.slice(0, 7)}, the triggering run built ${runHead.slice(0, 7)}`);
  }
  let mayComment = true;
  if (client !== undefined) {
    const current = await pullRequestHeadSha(client, repoRef(report.repository), report.pull_request);
    if (current !== report.head_sha) {
      core.notice(`pull request #${report.pull_request} has moved on to ${current.slice(0, 7)}; this report (${report.head_sha.slice(0, 7)}) is not posted, the newer run will`);
      mayComment = false;
    }
  }
  await publish(report, inputs, env, client, mayComment);
}

export async function runAction(host: ActionHost): Promise<void> {
  const env = host.env;
  const inputs = readInputs(envInputReader(env));
  if (inputs.token !== "") core.setSecret(inputs.token);
  if (inputs.apiKey !== undefined) core.setSecret(inputs.apiKey);
  const client = inputs.token === "" ? undefined : getOctokit(inputs.token);
  if (inputs.mode === "comment") return postEarlierReport(inputs, env, client);

  const repository = env.GITHUB_REPOSITORY ?? "";
  const pr = pullRequestFromEvent(env.GITHUB_EVENT_NAME ?? "", await readEvent(env), repository);
  const kernelModule = await WebAssembly.compile(host.kernelWasm as Uint8Array<ArrayBuffer>);
  const report = await analyzePullRequest({
    inputs,
    pr,
    git: gitIn(env.GITHUB_WORKSPACE || process.cwd()),
    client,
    kernelModule,
    serverUrl: env.GITHUB_SERVER_URL ?? "https://github.com",
    log: (line) => core.info(line),
    ...(host.workerEntry === undefined ? {} : { workerEntry: host.workerEntry }),
    ...(inputs.apiUrl === undefined ? {} : { api: { url: inputs.apiUrl, key: inputs.apiKey!, fetch, pollMs: 500, timeoutMs: 30 * 60_000 } }),
  });
  if (pr.fromFork && inputs.comment !== "never") {
    core.notice(`pull request #${pr.number} comes from a fork: its token is read-only, so the report is in the job summary and the report output (no comment); to comment safely, ${SAFE_COMMENTING}`);
  }
  await publish(report, inputs, env, client, !pr.fromFork);
}

/** Entry point: any error fails the step with its message (never a stack trace in the log). */
export async function main(host: ActionHost): Promise<void> {
  try {
    await runAction(host);
  } catch (error) {
    core.setFailed(`alphawatch: ${describeError(error)}`);
  }
}
