/**
 * Real git repositories for the Action tests: an "origin" with a base commit of checkpoints from
 * ../shared/models/series and one branch per pull request, optionally with the checkpoints in
 * Git LFS; and runner workspaces cloned from it the way actions/checkout does (full history, or
 * depth 1 without LFS objects).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sharedPath } from "../shared.js";

export const OWNER = "octo";
export const REPO = "models";

/** Environment for every git call: no user or system config, fixed identity and dates. */
export function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
    GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
    GIT_LFS_SKIP_SMUDGE: "1",
  };
}

export function hasGitLfs(): boolean {
  try {
    execFileSync("git", ["lfs", "version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const series = (file: string) => sharedPath("models", "series", file);

/** Checkpoint files of the base commit: repository path → file in models/series. */
export const BASE_FILES: Record<string, string> = {
  "models/epochs.safetensors": "mlp_epochs/run_ep0020.safetensors",
  "models/init.safetensors": "mlp_epochs/run_ep0000.safetensors",
  "models/batch.safetensors": "mlp_batchsize/bs0032.safetensors",
  "models/stable.safetensors": "mlp_epochs/run_ep0050.safetensors",
  "models/moved.safetensors": "mlp_epochs/run_ep0010.safetensors",
  "models/old.safetensors": "mlp_epochs/run_ep0005.safetensors",
};

export interface PullRequestSpec {
  number: number;
  branch: string;
  /** Files to write (series file, or "corrupt:<series file>" for a truncated copy). */
  write?: Record<string, string>;
  remove?: string[];
  rename?: Record<string, string>;
  text?: Record<string, string>;
}

/** PR 1: a fail (epochs), a recovery (init), a warn at least (batch), a rename, a deletion, an addition. */
export const PR_MIXED: PullRequestSpec = {
  number: 1,
  branch: "pr1",
  write: {
    "models/epochs.safetensors": "mlp_epochs/run_ep0000.safetensors",
    "models/init.safetensors": "mlp_epochs/run_ep0020.safetensors",
    "models/batch.safetensors": "mlp_batchsize/bs1024.safetensors",
    "models/new.safetensors": "mlp_epochs/run_ep0001.safetensors",
  },
  remove: ["models/old.safetensors"],
  rename: { "models/moved.safetensors": "archive/moved.safetensors" },
  text: { "README.md": "# models\n\nretrained\n" },
};

/** PR 2: only the initialization replaced by the trained model (no fail). */
export const PR_RECOVERY: PullRequestSpec = { number: 2, branch: "pr2", write: { "models/init.safetensors": "mlp_epochs/run_ep0020.safetensors" } };

/** PR 3: a regression and a corrupt checkpoint. */
export const PR_CORRUPT: PullRequestSpec = {
  number: 3,
  branch: "pr3",
  write: { "models/epochs.safetensors": "mlp_epochs/run_ep0000.safetensors", "models/batch.safetensors": "corrupt:mlp_batchsize/bs1024.safetensors" },
};

export interface Origin {
  dir: string;
  baseSha: string;
  heads: Map<number, string>;
  git(...args: string[]): string;
}

/** Builds the origin repository under `root`; with `lfs`, *.safetensors are stored in Git LFS. */
export function buildOrigin(root: string, prs: readonly PullRequestSpec[], lfs: boolean): Origin {
  const dir = path.join(root, "origin");
  const home = path.join(root, "home");
  mkdirSync(dir, { recursive: true });
  mkdirSync(home, { recursive: true });
  const env = gitEnv(home);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, env, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  if (lfs) {
    git("lfs", "install", "--local");
    git("lfs", "track", "*.safetensors");
  }
  const put = (file: string, source: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    if (source.startsWith("corrupt:")) {
      copyFileSync(series(source.slice("corrupt:".length)), path.join(dir, file));
      // The header stays, most tensor bytes go: the header now claims more than the file holds.
      truncateSync(path.join(dir, file), 4096);
    } else {
      copyFileSync(series(source), path.join(dir, file));
    }
  };
  for (const [file, source] of Object.entries(BASE_FILES)) put(file, source);
  writeFileSync(path.join(dir, "README.md"), "# models\n");
  git("add", "-A");
  git("commit", "-q", "-m", "base");
  const baseSha = git("rev-parse", "HEAD");
  const heads = new Map<number, string>();
  for (const pr of prs) {
    git("checkout", "-q", "-b", pr.branch, baseSha);
    for (const [file, source] of Object.entries(pr.write ?? {})) put(file, source);
    for (const file of pr.remove ?? []) git("rm", "-q", file);
    for (const [from, to] of Object.entries(pr.rename ?? {})) {
      mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
      git("mv", from, to);
    }
    for (const [file, text] of Object.entries(pr.text ?? {})) writeFileSync(path.join(dir, file), text);
    git("add", "-A");
    git("commit", "-q", "-m", `pull request ${pr.number}`);
    heads.set(pr.number, git("rev-parse", "HEAD"));
  }
  git("checkout", "-q", "main");
  return { dir, baseSha, heads, git };
}

/** The changed files of a pull request as GitHub's REST API lists them (from git, against base). */
export function diffEntries(origin: Origin, head: string): Array<{ filename: string; status: "added" | "removed" | "modified" | "renamed"; previous_filename?: string; sha: string }> {
  const out = origin.git("diff", "--name-status", "-z", "--find-renames", origin.baseSha, head).split("\0");
  const entries = [];
  for (let i = 0; i < out.length; ) {
    const code = out[i++];
    if (!code) continue;
    if (code.startsWith("R")) {
      const from = out[i++]!;
      const to = out[i++]!;
      entries.push({ filename: to, status: "renamed" as const, previous_filename: from, sha: head });
    } else {
      const file = out[i++]!;
      entries.push({ filename: file, status: code === "A" ? ("added" as const) : code === "D" ? ("removed" as const) : ("modified" as const), sha: head });
    }
  }
  return entries;
}

/** Every LFS object of the origin (oid → bytes), as an LFS server would hold them. */
export function lfsObjects(origin: Origin): Map<string, Uint8Array> {
  const store = path.join(origin.dir, ".git", "lfs", "objects");
  const objects = new Map<string, Uint8Array>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/^[0-9a-f]{64}$/.test(entry)) objects.set(entry, new Uint8Array(readFileSync(full)));
    }
  };
  walk(store);
  return objects;
}

/**
 * A runner workspace at the pull request's head: `full` clones everything (fetch-depth: 0),
 * otherwise depth 1 like actions/checkout's default. Never with LFS objects.
 */
export function cloneWorkspace(origin: Origin, root: string, name: string, branch: string, full: boolean): string {
  const dir = path.join(root, name);
  rmSync(dir, { recursive: true, force: true });
  const env = gitEnv(path.join(root, "home"));
  const args = full ? ["clone", "-q", "--no-local", "--branch", branch, origin.dir, dir] : ["clone", "-q", "--depth=1", "--branch", branch, `file://${origin.dir}`, dir];
  execFileSync("git", args, { env });
  return dir;
}
