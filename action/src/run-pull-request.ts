/**
 * mode analyze: find the pull request's changed checkpoints, analyze base and head of each, compare
 * them under the policy and build the Action report. Posting and outputs are in main.ts.
 */
import { availableParallelism } from "node:os";
import { compareReports } from "../../core/compare/index.js";
import type { PolicyOverrides } from "../../core/compare/policy.js";
import { AlphawatchError, BudgetError, UnsupportedError, UsageError, describeError } from "../../core/errors.js";
import type { Verdict } from "../../core/compare/comparison.js";
import { ACTION_REPORT_SCHEMA_VERSION, regressionsOf, worstVerdict, type ActionReport, type FileResult } from "./action-report.js";
import { createAnalyzer } from "./analyzer.js";
import { checkpointVersion, hasLocalLfsObject, sameContent, type CheckpointVersion } from "./checkpoint-version.js";
import { diffNameStatus, fetchCommits, gitConfig, gitDir, hasCommit, type ChangedPath, type Git } from "./git.js";
import { listPullRequestFiles, repoRef, type GitHubClient } from "./github-api.js";
import type { ActionInputs } from "./inputs.js";
import { lfsBatchDownload, lfsEndpoint, type LfsDownload } from "./lfs-batch.js";
import type { LfsPointer } from "./lfs-pointer.js";
import { pathMatcher } from "./path-globs.js";
import type { PullRequestInfo } from "./pull-request.js";
import { loadPolicyInput } from "./policy-input.js";
import type { WorkerApi } from "./worker-api.js";
import { ACTION_VERSION } from "./version.js";

export interface PullRequestRun {
  inputs: ActionInputs;
  pr: PullRequestInfo;
  git: Git;
  client: GitHubClient | undefined;
  kernelModule: WebAssembly.Module;
  /** GITHUB_SERVER_URL: where the repository's LFS endpoint is, and the only origin that gets the token. */
  serverUrl: string;
  log: (line: string) => void;
  /** The bundle's own file, started as analysis worker threads; without it analyses run in the main thread. */
  workerEntry?: URL;
  api?: WorkerApi;
}

interface Commits {
  base: string;
  head: string;
  changes: ChangedPath[];
}

/**
 * The changed files and the commits to read them from. With the history fetched (fetch-depth: 0)
 * git gives them against the merge base, as GitHub shows them; otherwise the REST API lists them
 * and the two commits are fetched shallowly.
 */
async function changedFiles(run: PullRequestRun): Promise<Commits> {
  const { git, pr } = run;
  if ((await hasCommit(git, pr.baseSha)) && (await hasCommit(git, pr.headSha))) {
    try {
      const mergeBase = (await git.run(["merge-base", pr.baseSha, pr.headSha])).toString("utf8").trim();
      run.log(`history present: changes from git (merge base ${mergeBase.slice(0, 7)} → head ${pr.headSha.slice(0, 7)})`);
      return { base: mergeBase, head: pr.headSha, changes: await diffNameStatus(git, mergeBase, pr.headSha) };
    } catch {
      // A shallow history has no merge base: the REST API knows the changed files.
    }
  }
  if (run.client === undefined) throw new UsageError("the history of the pull request is not fetched and no github-token is set to list its files");
  const changes = await listPullRequestFiles(run.client, repoRef(pr.repository), pr.number);
  run.log(`changed files from the REST API (${changes.length} files)`);
  const missing: string[] = [];
  for (const sha of [pr.baseSha, pr.headSha]) if (!(await hasCommit(git, sha))) missing.push(sha);
  if (missing.length > 0) {
    run.log(`fetching ${missing.map((s) => s.slice(0, 7)).join(", ")} from origin (shallow)`);
    try {
      await fetchCommits(git, missing);
    } catch (error) {
      throw new UsageError(`cannot fetch the pull request's commits (${describeError(error)}); check out the repository with actions/checkout before this step`);
    }
  }
  return { base: pr.baseSha, head: pr.headSha, changes };
}

/** Verdict for a head checkpoint that cannot be read: a broken file fails, an alphawatch limit warns. */
function unreadableVerdict(error: unknown): Verdict {
  return error instanceof UnsupportedError || error instanceof BudgetError ? "warn" : "fail";
}

function errorText(error: unknown): string {
  return error instanceof AlphawatchError ? error.message : describeError(error);
}

async function lfsDownloads(run: PullRequestRun, versions: CheckpointVersion[], gitDirectory: string, base: string): Promise<Map<string, LfsDownload | Error>> {
  const needed = new Map<string, LfsPointer>();
  for (const v of versions) {
    if (v.lfs !== undefined && !needed.has(v.lfs.oid) && !(await hasLocalLfsObject(gitDirectory, v.lfs.oid))) needed.set(v.lfs.oid, v.lfs);
  }
  if (needed.size === 0) return new Map();
  // The endpoint comes from the repository's config or the base commit's .lfsconfig, never from
  // the pull request's own files.
  const configuredUrl =
    (await gitConfig(run.git, "lfs.url")) ?? (await gitConfig(run.git, "remote.origin.lfsurl")) ?? (await gitConfig(run.git, "lfs.url", `${base}:.lfsconfig`));
  const endpoint = lfsEndpoint({ configuredUrl, serverUrl: run.serverUrl, repository: run.pr.repository, token: run.inputs.token });
  run.log(`Git LFS: asking ${endpoint.url} for ${needed.size} object(s); only the byte ranges read are downloaded`);
  try {
    return await lfsBatchDownload(endpoint, [...needed.values()]);
  } catch (error) {
    return new Map([...needed.keys()].map((oid) => [oid, error as Error]));
  }
}

export async function analyzePullRequest(run: PullRequestRun): Promise<ActionReport> {
  const { git, pr, inputs } = run;
  const commits = await changedFiles(run);
  const matcher = pathMatcher(inputs.paths);
  const changes = commits.changes.filter((c) => matcher.matches(c.path) || (c.previous_path !== undefined && matcher.matches(c.previous_path)));
  run.log(`${changes.length} changed checkpoint file(s) match paths (${inputs.paths.join(", ")})`);
  const policy = await loadPolicyInput(inputs.policy, git, commits.base, commits.head);
  run.log(`policy: ${policy.origin}`);

  // Both versions of every file, identified by content before anything is downloaded.
  const pairs = await Promise.all(
    changes.map(async (change) => {
      const head = change.status === "removed" ? undefined : await checkpointVersion(git, commits.head, change.path);
      const base = change.status === "added" ? undefined : await checkpointVersion(git, commits.base, change.previous_path ?? change.path);
      return { change, base, head };
    }),
  );
  const toAnalyze = pairs.flatMap(({ base, head }) => (base !== undefined && head !== undefined && sameContent(base, head) ? [] : [base, head])).filter((v): v is CheckpointVersion => v !== undefined);
  const gitDirectory = await gitDir(git);
  const downloads = await lfsDownloads(run, toAnalyze, gitDirectory, commits.base);
  const analyzer = createAnalyzer({
    kernelModule: run.kernelModule,
    options: { randomize: inputs.randomize && run.api === undefined },
    open: { git, gitDirectory, lfsDownloads: downloads },
    jobs: inputs.jobs ?? availableParallelism(),
    versions: new Set(toAnalyze.map((v) => v.key)).size,
    log: run.log,
    ...(run.workerEntry === undefined ? {} : { workerEntry: run.workerEntry }),
    ...(run.api === undefined ? {} : { api: run.api }),
  });

  let files: FileResult[];
  try {
    files = await Promise.all(pairs.map(({ change, base, head }) => fileResult(change, base, head, analyzer, policy.overrides)));
  } finally {
    await analyzer.close();
  }
  return {
    schemaVersion: ACTION_REPORT_SCHEMA_VERSION,
    tool: { name: "alphawatch-action", version: ACTION_VERSION },
    repository: pr.repository,
    pull_request: pr.number,
    base_sha: commits.base,
    head_sha: commits.head,
    verdict: worstVerdict(files.map((f) => f.verdict)),
    files,
    regressions: regressionsOf(files),
  };
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

async function fileResult(
  change: ChangedPath,
  base: CheckpointVersion | undefined,
  head: CheckpointVersion | undefined,
  analyzer: ReturnType<typeof createAnalyzer>,
  policy: PolicyOverrides,
): Promise<FileResult> {
  const common = { path: change.path, status: change.status, ...(change.previous_path === undefined ? {} : { previous_path: change.previous_path }) };
  if (head === undefined) return { ...common, outcome: "removed", verdict: "pass" };
  if (base !== undefined && sameContent(base, head)) {
    const note = head.lfs !== undefined ? `same Git LFS object as base (${head.lfs.oid.slice(0, 12)}): not downloaded` : "same content as base";
    return { ...common, outcome: "unchanged", verdict: "pass", note };
  }
  const [baseResult, headResult] = await Promise.all([base === undefined ? undefined : settle(analyzer.analyze(base)), settle(analyzer.analyze(head))]);
  if (!headResult.ok) return { ...common, outcome: "error", side: "head", error: errorText(headResult.error), verdict: unreadableVerdict(headResult.error) };
  if (baseResult === undefined) return { ...common, outcome: "reported", report: headResult.value, verdict: "pass" };
  if (!baseResult.ok) {
    return { ...common, outcome: "reported", report: headResult.value, verdict: "warn", note: `no comparison: the base version cannot be read (${errorText(baseResult.error)})` };
  }
  const comparison = compareReports(baseResult.value, headResult.value, policy);
  return { ...common, outcome: "compared", comparison, verdict: comparison.verdict };
}
