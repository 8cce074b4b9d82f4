/**
 * The bundle on a repository whose checkpoints are in Git LFS (Debian's git-lfs builds it): the
 * Action compares pointer oids first and downloads, through the LFS batch API of a local server
 * that counts the bytes it serves, only the objects it must analyze.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComparedFile } from "../../action/src/action-report.js";
import { localLfsObjectPath } from "../../action/src/checkpoint-version.js";
import { parseLfsPointer } from "../../action/src/lfs-pointer.js";
import { hasShared, requireShared } from "../shared.js";
import { FakeGitHub } from "./fake-github.js";
import { buildOrigin, cloneWorkspace, diffEntries, hasGitLfs, lfsObjects, OWNER, REPO, type Origin, type PullRequestSpec } from "./git-fixture.js";
import { readActionReport, runPullRequest } from "./run-bundle.js";

requireShared("the GitHub Action's Git LFS tests");
const gitLfs = hasGitLfs();
if (!gitLfs) console.warn("git-lfs not found: skipping the GitHub Action's Git LFS tests (apt-get install git-lfs)");

const TOKEN = "ghs_lfs_token_abcdef";
const REPOSITORY = `${OWNER}/${REPO}`;

/** A regression in one LFS file, a renamed LFS file with the same object; the other files untouched. */
const PR_LFS: PullRequestSpec = {
  number: 7,
  branch: "lfs",
  write: { "models/epochs.safetensors": "mlp_epochs/run_ep0000.safetensors" },
  rename: { "models/moved.safetensors": "archive/moved.safetensors" },
};

describe.skipIf(!hasShared || !gitLfs)("the Action bundle with checkpoints in Git LFS", () => {
  let scratch: string;
  let origin: Origin;
  let github: FakeGitHub;
  const pointerOf = (commit: string, file: string) => parseLfsPointer(new TextEncoder().encode(origin.git("show", `${commit}:${file}`) + "\n"))!;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "aw-action-lfs-"));
    origin = buildOrigin(scratch, [PR_LFS], true);
    github = await new FakeGitHub({ owner: OWNER, repo: REPO, token: TOKEN, maxPerPage: 100 }).start();
    github.pulls.set(7, { headSha: origin.heads.get(7)!, files: diffEntries(origin, origin.heads.get(7)!) });
    for (const [oid, bytes] of lfsObjects(origin)) github.lfsObjects.set(oid, bytes);
  });

  afterAll(async () => {
    await github?.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  const run = (workspace: string) =>
    runPullRequest({ workspace, scratch, apiUrl: github.baseUrl, repository: REPOSITORY, origin, number: 7, inputs: { "github-token": TOKEN, "fail-on": "fail", randomize: "false" } });

  it("downloads only the changed objects, through the batch API, and fails the regression naming fc1 and fc2", async () => {
    const head = origin.heads.get(7)!;
    const changedBase = pointerOf(origin.baseSha, "models/epochs.safetensors");
    const changedHead = pointerOf(head, "models/epochs.safetensors");
    const moved = pointerOf(origin.baseSha, "models/moved.safetensors");
    const stable = pointerOf(origin.baseSha, "models/stable.safetensors");
    expect(pointerOf(head, "archive/moved.safetensors").oid).toBe(moved.oid);

    // actions/checkout's default: depth 1, no LFS objects in the workspace.
    const workspace = cloneWorkspace(origin, scratch, "ws-lfs", "lfs", false);
    const result = await run(workspace);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe("fail");
    const report = readActionReport(result);
    const epochs = report.files.find((f) => f.path === "models/epochs.safetensors") as ComparedFile;
    expect(epochs.comparison.layers.filter((l) => l.verdict === "fail").map((l) => l.name)).toEqual(["fc1", "fc2"]);
    // The LFS oid is the file's SHA-256: the report's identity, without reading the file to hash it.
    expect(epochs.comparison.base.source.sha256).toBe(changedBase.oid);
    expect(epochs.comparison.head.source.sha256).toBe(changedHead.oid);
    expect(report.files.find((f) => f.path === "archive/moved.safetensors")).toMatchObject({
      outcome: "unchanged",
      note: `same Git LFS object as base (${moved.oid.slice(0, 12)}): not downloaded`,
    });

    // One batch request, for the two objects that changed; each served at most once, whole.
    expect([...github.lfsBatchOids].sort()).toEqual([changedBase.oid, changedHead.oid].sort());
    expect(github.lfsBytesServed.get(moved.oid) ?? 0).toBe(0);
    expect(github.lfsBytesServed.get(stable.oid) ?? 0).toBe(0);
    expect(github.lfsBytesServed.get(changedBase.oid)).toBeGreaterThan(0);
    expect(github.lfsBytesServed.get(changedBase.oid)).toBeLessThanOrEqual(changedBase.size);
    expect(github.lfsBytesServed.get(changedHead.oid)).toBeLessThanOrEqual(changedHead.size);
    expect(result.stdout).toContain("Git LFS: asking " + github.baseUrl + "/octo/models.git/info/lfs for 2 object(s)");
    expect(github.problems).toEqual([]);
  });

  it("reads objects the checkout already has from the local LFS store, downloading nothing", async () => {
    const workspace = cloneWorkspace(origin, scratch, "ws-lfs-local", "lfs", false);
    const originStore = path.join(origin.dir, ".git");
    for (const oid of github.lfsObjects.keys()) {
      const target = localLfsObjectPath(path.join(workspace, ".git"), oid);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(localLfsObjectPath(originStore, oid), target);
    }
    const servedBefore = github.lfsBytesTotal();
    const batchesBefore = github.lfsBatchOids.length;
    const result = await run(workspace);
    expect(result.outputs.verdict).toBe("fail");
    expect(github.lfsBytesTotal()).toBe(servedBefore);
    expect(github.lfsBatchOids.length).toBe(batchesBefore);
    expect(github.problems).toEqual([]);
  });
});
