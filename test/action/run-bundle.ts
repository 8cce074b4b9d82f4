/**
 * Runs the committed bundle (dist/index.js) as the GitHub runner does: a fresh node process with the
 * INPUT_* variables, the event file, and the files the runner collects (GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ActionReport } from "../../action/src/action-report.js";
import { repoRoot } from "../shared.js";
import type { Origin } from "./git-fixture.js";

export const BUNDLE = path.join(repoRoot, "dist", "index.js");

export interface BundleRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface BundleRunOptions {
  workspace: string;
  scratch: string;
  apiUrl: string;
  repository: string;
  eventName: string;
  event: unknown;
  inputs: Record<string, string>;
  /** GITHUB_SERVER_URL (the LFS endpoint is derived from it). */
  serverUrl?: string;
}

/** Parses GITHUB_OUTPUT: `name<<DELIMITER\nvalue\nDELIMITER` blocks as @actions/core writes them. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m === null) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
    outputs[m[1]!] = value.join("\n");
  }
  return outputs;
}

let runs = 0;

export function runBundle(options: BundleRunOptions): Promise<BundleRun> {
  const dir = path.join(options.scratch, `run-${++runs}`);
  mkdirSync(dir, { recursive: true });
  const eventPath = path.join(dir, "event.json");
  writeFileSync(eventPath, JSON.stringify(options.event));
  const outputPath = path.join(dir, "output.txt");
  const summaryPath = path.join(dir, "summary.md");
  writeFileSync(outputPath, "");
  writeFileSync(summaryPath, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: path.join(options.scratch, "home"),
    GIT_CONFIG_NOSYSTEM: "1",
    GITHUB_ACTIONS: "true",
    CI: "true",
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_EVENT_NAME: options.eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: options.repository,
    GITHUB_API_URL: options.apiUrl,
    GITHUB_SERVER_URL: options.serverUrl ?? options.apiUrl,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_OUTPUT: outputPath,
    GITHUB_RUN_ID: "4242",
    RUNNER_TEMP: dir,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [BUNDLE], { cwd: options.workspace, env, encoding: "utf8", maxBuffer: 64 << 20, timeout: 90_000 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({
        exitCode,
        stdout,
        stderr,
        outputs: parseOutputFile(existsSync(outputPath) ? readFileSync(outputPath, "utf8") : ""),
        summary: existsSync(summaryPath) ? readFileSync(summaryPath, "utf8") : "",
      });
    });
  });
}

/** The pull_request event payload GitHub sends, reduced to what the Action reads plus some context. */
export function pullRequestEvent(number: number, baseSha: string, headSha: string, repository: string, headRepository = repository): unknown {
  return {
    action: "synchronize",
    number,
    pull_request: {
      number,
      state: "open",
      base: { ref: "main", sha: baseSha, repo: { full_name: repository } },
      head: { ref: `pr${number}`, sha: headSha, repo: { full_name: headRepository } },
    },
    repository: { full_name: repository },
  };
}

export interface PullRequestRunOptions {
  workspace: string;
  scratch: string;
  apiUrl: string;
  repository: string;
  origin: Origin;
  /** A pull request of `origin`: its head is origin.heads.get(number), its base origin.baseSha. */
  number: number;
  /** The head's repository when the pull request comes from a fork. */
  headRepository?: string;
  inputs: Record<string, string>;
}

/** The bundle run on the pull_request event of one of the origin's pull requests. */
export function runPullRequest(options: PullRequestRunOptions): Promise<BundleRun> {
  const { origin, number, repository } = options;
  return runBundle({
    workspace: options.workspace,
    scratch: options.scratch,
    apiUrl: options.apiUrl,
    repository,
    eventName: "pull_request",
    event: pullRequestEvent(number, origin.baseSha, origin.heads.get(number)!, repository, options.headRepository),
    inputs: options.inputs,
  });
}

/** The report file a run wrote (its `report` output). */
export function readActionReport(run: BundleRun): ActionReport {
  return JSON.parse(readFileSync(run.outputs.report!, "utf8")) as ActionReport;
}
