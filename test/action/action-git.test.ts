/**
 * The committed bundle run as the GitHub runner runs it, on a real git repository whose pull
 * requests change real checkpoints (../shared/models/series), against a local fake of the GitHub
 * REST API that validates every request against GitHub's OpenAPI description.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActionReport, ComparedFile } from "../../action/src/action-report.js";
import { COMMENT_MARKER } from "../../action/src/comment-body.js";
import { hasShared, requireShared } from "../shared.js";
import { FakeGitHub } from "./fake-github.js";
import { FakeWorkerApi } from "./fake-worker-api.js";
import { buildOrigin, cloneWorkspace, diffEntries, OWNER, PR_CORRUPT, PR_MIXED, PR_RECOVERY, REPO, type Origin } from "./git-fixture.js";
import { readActionReport as readReport, runBundle, runPullRequest, type BundleRun } from "./run-bundle.js";

requireShared("the GitHub Action tests on real checkpoints");

const TOKEN = "ghs_test_token_0123456789";
const REPOSITORY = `${OWNER}/${REPO}`;

function layersWith(file: ComparedFile, verdict: "fail" | "warn"): string[] {
  return file.comparison.layers.filter((l) => l.verdict === verdict).map((l) => l.name);
}

function file(report: ActionReport, name: string) {
  const found = report.files.find((f) => f.path === name);
  if (found === undefined) throw new Error(`${name} not in the report: ${report.files.map((f) => f.path).join(", ")}`);
  return found;
}

describe.skipIf(!hasShared)("the Action bundle on pull requests (checkpoints in git)", () => {
  let scratch: string;
  let origin: Origin;
  let github: FakeGitHub;

  const run = (workspace: string, prNumber: number, inputs: Record<string, string>, headRepository = REPOSITORY) =>
    runPullRequest({ workspace, scratch, apiUrl: github.baseUrl, repository: REPOSITORY, origin, number: prNumber, headRepository, inputs: { "github-token": TOKEN, ...inputs } });

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "aw-action-git-"));
    origin = buildOrigin(scratch, [PR_MIXED, PR_RECOVERY, PR_CORRUPT], false);
    // Two files per page, so that listing a pull request's files or comments takes several pages.
    github = await new FakeGitHub({ owner: OWNER, repo: REPO, token: TOKEN, maxPerPage: 2 }).start();
    for (const [number, head] of origin.heads) github.pulls.set(number, { headSha: head, files: diffEntries(origin, head) });
  });

  afterAll(async () => {
    await github?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  let first: BundleRun;

  it("fails a regression, naming fc1 and fc2, in one comment, the summary and the outputs (history fetched)", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-full", "pr1", true);
    first = await run(workspace, 1, { "fail-on": "fail" });
    expect(first.stderr).toBe("");
    expect(first.exitCode).toBe(1);
    expect(first.stdout).toContain("history present: changes from git");
    expect(first.stdout).toMatch(/::error::alphawatch verdict fail \(fail-on: fail\): models\/(batch|epochs)\.safetensors: fc1: /);
    expect(first.outputs.verdict).toBe("fail");

    const report = readReport(first);
    expect(report.pull_request).toBe(1);
    expect(report.head_sha).toBe(origin.heads.get(1));
    expect(report.files.map((f) => [f.path, f.status, f.outcome]).sort()).toEqual([
      ["archive/moved.safetensors", "renamed", "unchanged"],
      ["models/batch.safetensors", "modified", "compared"],
      ["models/epochs.safetensors", "modified", "compared"],
      ["models/init.safetensors", "modified", "compared"],
      ["models/new.safetensors", "added", "reported"],
      ["models/old.safetensors", "removed", "removed"],
    ]);
    const epochs = file(report, "models/epochs.safetensors") as ComparedFile;
    expect(epochs.verdict).toBe("fail");
    expect(layersWith(epochs, "fail")).toEqual(["fc1", "fc2"]);
    // weightwatcher 0.7.5.5: fc1 2.4169 → 6.9067 between the trained model and its initialization.
    expect(epochs.comparison.layers[0]!.changes.alpha.base).toBeCloseTo(2.4168993108132764, 6);
    expect(epochs.comparison.layers[0]!.changes.alpha.head).toBeCloseTo(6.906652342511967, 6);
    // randomize is on by default: correlation traps were measured on both sides.
    expect(epochs.comparison.head.num_traps).not.toBeNull();
    const init = file(report, "models/init.safetensors") as ComparedFile;
    expect(init.verdict).not.toBe("fail");
    const batch = file(report, "models/batch.safetensors") as ComparedFile;
    expect(["warn", "fail"]).toContain(batch.verdict);
    expect([...layersWith(batch, "fail"), ...layersWith(batch, "warn")]).toContain("fc1");
    expect(file(report, "archive/moved.safetensors")).toMatchObject({ previous_path: "models/moved.safetensors", note: "same content as base" });

    const regressions = JSON.parse(first.outputs.regressions!) as Array<{ file: string; layer?: string; verdict: string; reason: string }>;
    const epochsRegressions = regressions.filter((r) => r.file === "models/epochs.safetensors");
    expect(epochsRegressions.filter((r) => r.layer !== undefined).map((r) => [r.layer, r.verdict])).toEqual([
      ["fc1", "fail"],
      ["fc2", "fail"],
    ]);
    // The model-level finding (mean alpha) comes without a layer.
    expect(epochsRegressions.filter((r) => r.layer === undefined).map((r) => r.reason)).toEqual([expect.stringMatching(/^Mean alpha rose from /)]);
    // A warning annotation on each regressed file.
    expect(first.stdout).toMatch(/::warning title=alphawatch%3A fail,file=models\/epochs\.safetensors::alphawatch fail: layers fc1, fc2\n/);
    expect(first.stdout).toMatch(/::warning title=alphawatch%3A (fail|warn),file=models\/batch\.safetensors::alphawatch (fail|warn): layers fc1/);

    // One comment, with the marker, the verdict and the regressed layers.
    expect(github.comments).toHaveLength(1);
    const body = github.comments[0]!.body;
    expect(body.startsWith(COMMENT_MARKER)).toBe(true);
    expect(body).toContain("## ❌ alphawatch: FAIL");
    expect(body).toContain("| models/epochs.safetensors | modified | ❌ fail | regressed: fc1, fc2;");
    expect(body).toContain("fc1: alpha rose from 2.42 to 6.91");
    expect(body).toContain("| models/old.safetensors | removed | ✅ pass | deleted |");
    expect(body).toContain("| archive/moved.safetensors | renamed from `models/moved.safetensors` | ✅ pass | same content as base |");
    expect(body).toContain("/actions/runs/4242");
    expect(first.summary).toBe(body);
    expect(github.problems).toEqual([]);
  });

  it("updates the same comment on the next run instead of adding one; fail-on never exits 0", async () => {
    // Other comments on the pull request, so that finding the marker takes several pages.
    github.comments.unshift(
      ...[1, 2, 3].map((i) => ({ id: i, body: `LGTM ${i}`, issue: 1, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" })),
    );
    const workspace = cloneWorkspace(origin, scratch, "ws-full", "pr1", true);
    const second = await run(workspace, 1, { "fail-on": "never" });
    expect(second.exitCode).toBe(0);
    expect(second.outputs.verdict).toBe("fail");
    expect(github.comments.filter((c) => c.body.includes(COMMENT_MARKER))).toHaveLength(1);
    const updates = github.requests.filter((r) => r.operationId === "issues/update-comment");
    expect(updates).toHaveLength(1);
    expect(github.requests.filter((r) => r.operationId === "issues/create-comment")).toHaveLength(1);
    const pages = github.requests.filter((r) => r.operationId === "issues/list-comments");
    expect(pages.map((r) => r.path)).toContain("/repos/octo/models/issues/1/comments?per_page=100&page=2");
    expect(second.stdout).toContain("updated comment https://github.com/octo/models/pull/1#issuecomment-");
    expect(github.problems).toEqual([]);
  });

  it("without the history (fetch-depth 1) lists the files through the paginated REST API and fetches the base", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-shallow", "pr1", false);
    const before = github.requests.length;
    const shallow = await run(workspace, 1, { "fail-on": "never", comment: "never", randomize: "false" });
    expect(shallow.exitCode).toBe(0);
    expect(shallow.stdout).toContain("changed files from the REST API (7 files)");
    const pages = github.requests.slice(before).filter((r) => r.operationId === "pulls/list-files").map((r) => r.path);
    expect(pages).toEqual([
      "/repos/octo/models/pulls/1/files?per_page=100",
      "/repos/octo/models/pulls/1/files?per_page=100&page=2",
      "/repos/octo/models/pulls/1/files?per_page=100&page=3",
      "/repos/octo/models/pulls/1/files?per_page=100&page=4",
    ]);
    const report = readReport(shallow);
    expect(layersWith(file(report, "models/epochs.safetensors") as ComparedFile, "fail")).toEqual(["fc1", "fc2"]);
    expect((file(report, "models/epochs.safetensors") as ComparedFile).comparison.head.num_traps).toBeNull();
    expect(file(report, "archive/moved.safetensors").outcome).toBe("unchanged");
    expect(github.problems).toEqual([]);
  });

  it("gives no fail when the initialization is replaced by the trained model; fail-on decides the exit code", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-pr2", "pr2", true);
    const strict = await run(workspace, 2, { "fail-on": "warn" });
    const lenient = await run(workspace, 2, { "fail-on": "fail" });
    for (const r of [strict, lenient]) expect(r.outputs.verdict).toBe("warn");
    expect(strict.exitCode).toBe(1);
    expect(lenient.exitCode).toBe(0);
    const init = file(readReport(lenient), "models/init.safetensors") as ComparedFile;
    expect(layersWith(init, "fail")).toEqual([]);
    expect(init.comparison.reasons).toContain("fc2: alpha fell below 2 (14.30 → 1.95): the layer may be over-trained.");
    const comment = github.comments.find((c) => c.issue === 2)!;
    expect(comment.body).toContain("## ⚠️ alphawatch: WARN");
    expect(github.comments.filter((c) => c.issue === 2)).toHaveLength(1);
  });

  it("warns, and still reports, when the token may not write the comment (HTTP 403)", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-pr2", "pr2", true);
    const before = github.comments.find((c) => c.issue === 2)!.body;
    github.readOnly = true;
    try {
      const refused = await run(workspace, 2, { "fail-on": "fail", randomize: "false" });
      expect(refused.exitCode).toBe(0);
      expect(refused.outputs.verdict).toBe("warn");
      expect(refused.outputs["comment-url"]).toBeUndefined();
      expect(refused.stdout).toContain("::warning::cannot comment on pull request #2 (HTTP 403: the token may be read-only)");
      expect(refused.summary).toContain("## ⚠️ alphawatch: WARN");
      expect(github.comments.find((c) => c.issue === 2)!.body).toBe(before);
    } finally {
      github.readOnly = false;
    }
    expect(github.problems).toEqual([]);
  });

  let forkReport: string;

  it("on a fork's pull request writes the summary and the report, and no comment", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-fork", "pr3", true);
    const before = github.requests.length;
    const fork = await run(workspace, 3, { "fail-on": "fail" }, "someone/models");
    expect(fork.exitCode).toBe(1);
    expect(fork.stdout).toContain("::notice::pull request #3 comes from a fork: its token is read-only");
    expect(fork.stdout).toContain("mode: comment");
    const calls = github.requests.slice(before).map((r) => r.operationId);
    expect(calls).not.toContain("issues/create-comment");
    expect(calls).not.toContain("issues/update-comment");
    expect(github.comments.filter((c) => c.issue === 3)).toHaveLength(0);
    expect(fork.summary).toContain("## ❌ alphawatch: FAIL");
    forkReport = fork.outputs.report!;

    // The corrupt checkpoint is reported with its error; the other file still is compared.
    const report = readReport(fork);
    const batch = file(report, "models/batch.safetensors");
    expect(batch).toMatchObject({ outcome: "error", side: "head", verdict: "fail" });
    expect(batch.outcome === "error" && batch.error).toMatch(/^models\/batch\.safetensors@[0-9a-f]{7}: .*(past the end|truncated|beyond|file size|bytes)/);
    expect(layersWith(file(report, "models/epochs.safetensors") as ComparedFile, "fail")).toEqual(["fc1", "fc2"]);
    expect(fork.summary).toMatch(/\| models\/batch\.safetensors \| modified \| ❌ fail \| cannot be read \(head\): models\/batch\.safetensors@/);
    expect(fork.stdout).toMatch(/::warning title=alphawatch%3A fail,file=models\/batch\.safetensors::alphawatch fail: cannot be read: models\/batch\.safetensors@[0-9a-f]{7}: invalid safetensors file: tensor data runs past the end of the file/);
  });

  it("mode comment (workflow_run) posts the fork run's report after checking its pull request and commit", async () => {
    const head = origin.heads.get(3)!;
    const posted = await runBundle({
      workspace: scratch,
      scratch,
      apiUrl: github.baseUrl,
      repository: REPOSITORY,
      eventName: "workflow_run",
      event: { action: "completed", workflow_run: { head_sha: head, event: "pull_request", conclusion: "failure" } },
      inputs: { "github-token": TOKEN, mode: "comment", "report-file": forkReport, "fail-on": "never" },
    });
    expect(posted.stderr).toBe("");
    expect(posted.exitCode).toBe(0);
    expect(github.requests.at(-1)!.operationId).toBe("issues/create-comment");
    expect(github.requests.map((r) => r.operationId)).toContain("pulls/get");
    const comment = github.comments.find((c) => c.issue === 3)!;
    expect(comment.body).toContain("## ❌ alphawatch: FAIL");
    expect(comment.body).toContain("cannot be read (head)");

    // A report about another commit is refused.
    const stale = await runBundle({
      workspace: scratch,
      scratch,
      apiUrl: github.baseUrl,
      repository: REPOSITORY,
      eventName: "workflow_run",
      event: { action: "completed", workflow_run: { head_sha: origin.baseSha } },
      inputs: { "github-token": TOKEN, mode: "comment", "report-file": forkReport },
    });
    expect(stale.exitCode).toBe(1);
    expect(stale.stdout).toContain(`::error::alphawatch: ${forkReport}: the report is about commit ${head.slice(0, 7)}, the triggering run built ${origin.baseSha.slice(0, 7)}`);
    expect(github.problems).toEqual([]);
  });

  it("with api-url, uploads each version to the Worker API, polls the analysis and compares the reports", async () => {
    const worker = await new FakeWorkerApi("worker-key-1").start();
    try {
      const workspace = cloneWorkspace(origin, scratch, "ws-pr2", "pr2", true);
      const viaApi = await run(workspace, 2, { "fail-on": "fail", comment: "never", "api-url": worker.baseUrl, "api-key": "worker-key-1" });
      expect(viaApi.stderr).toBe("");
      expect(viaApi.exitCode).toBe(0);
      expect(viaApi.stdout).toContain("::add-mask::worker-key-1");
      expect(viaApi.stdout).toMatch(/waiting for Worker analysis [0-9a-f-]{36} \(running\)/);
      expect(worker.calls.filter((c) => c.startsWith("PUT /v1/objects/alphawatch-action/git-"))).toHaveLength(2);
      expect(worker.calls.filter((c) => c === "POST /v1/analyses")).toHaveLength(2);
      const init = file(readReport(viaApi), "models/init.safetensors") as ComparedFile;
      expect(init.verdict).toBe("warn");
      expect(init.comparison.reasons).toEqual(["fc2: alpha fell below 2 (14.30 → 1.95): the layer may be over-trained."]);
      expect(worker.problems).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it("analyzes two changed files on two worker threads, with the same comment as in one thread (jobs)", async () => {
    // PR 3 changes two files: four versions to analyze, one of them corrupt.
    const workspace = cloneWorkspace(origin, scratch, "ws-threads", "pr3", true);
    const quiet = { "fail-on": "never", comment: "never", randomize: "false" };
    const threaded = await run(workspace, 3, { ...quiet, jobs: "2" });
    const single = await run(workspace, 3, { ...quiet, jobs: "1" });
    for (const r of [threaded, single]) {
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
    }
    expect(threaded.stdout).toContain("4 checkpoint version(s) to analyze, on 2 worker threads\n");
    expect(single.stdout).toContain("4 checkpoint version(s) to analyze, one at a time in the main thread\n");

    // One line per version started (naming its thread) and one per version finished or failed.
    const starts = (r: BundleRun) => [...r.stdout.matchAll(/^\[(\d)\] analyzing (models\/\w+\.safetensors@[0-9a-f]{7}) \([0-9.]+ MiB\) (.+)$/gm)];
    const ends = (r: BundleRun) => [...r.stdout.matchAll(/^\[(\d)\] (done|failed) (models\/\w+\.safetensors@[0-9a-f]{7})[: ]/gm)].map((m) => `${m[2]} ${m[3]}`).sort();
    const threads = new Set(starts(threaded).map((m) => m[3]));
    expect(starts(threaded)).toHaveLength(4);
    expect([...threads].every((place) => /^on worker thread [1-9]\d*$/.test(place!))).toBe(true);
    expect(threads.size).toBe(2);
    expect(starts(single).map((m) => m[3])).toEqual(Array(4).fill("in the main thread"));
    expect(ends(threaded)).toEqual(ends(single));
    expect(ends(threaded).filter((e) => e.startsWith("failed "))).toEqual([expect.stringMatching(/^failed models\/batch\.safetensors@/)]);
    expect(threaded.stdout).toMatch(/^\[\d\] {3}layer 3\/3 fc3$/m);

    // The same comment, outputs and typed error (a corrupt head fails) either way.
    expect(threaded.summary).toContain("## ❌ alphawatch: FAIL");
    expect(threaded.summary).toBe(single.summary);
    expect(threaded.outputs.regressions).toBe(single.outputs.regressions);
    expect(file(readReport(threaded), "models/batch.safetensors")).toMatchObject({ outcome: "error", side: "head", verdict: "fail" });
    expect(layersWith(file(readReport(threaded), "models/epochs.safetensors") as ComparedFile, "fail")).toEqual(["fc1", "fc2"]);
  });

  it("refuses a bad input with its name before any work", async () => {
    const bad = await run(scratch, 1, { "fail-on": "sometimes" });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain('::error::alphawatch: input fail-on: "sometimes" is not one of fail, warn, never');
    const noJobs = await run(scratch, 1, { jobs: "0" });
    expect(noJobs.exitCode).toBe(1);
    expect(noJobs.stdout).toContain('::error::alphawatch: input jobs: "0" is not a positive whole number');
  });
});
