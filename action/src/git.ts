/**
 * The few git plumbing commands the Action needs, run in the checked-out workspace. Blobs are read
 * from git objects (never from the working tree), so the checkout's state does not matter.
 */
import { execFile } from "node:child_process";

/** Biggest blob read into memory from git; larger checkpoints belong in Git LFS. */
export const MAX_GIT_BLOB_BYTES = 2 ** 31 - 1;

export class GitError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
    this.name = "GitError";
  }
}

export interface Git {
  readonly cwd: string;
  /** Runs git with `args`; resolves with stdout as bytes. */
  run(args: readonly string[], maxBuffer?: number): Promise<Buffer>;
}

export function gitIn(cwd: string): Git {
  return {
    cwd,
    run: (args, maxBuffer = 64 * 2 ** 20) =>
      new Promise((resolve, reject) => {
        execFile("git", [...args], { cwd, encoding: "buffer", maxBuffer, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout, stderr) => {
          if (error !== null) {
            const text = stderr.toString("utf8").trim();
            reject(new GitError(`git ${args.join(" ")} failed in ${cwd}: ${text || error.message}`, text));
          } else {
            resolve(stdout);
          }
        });
      }),
  };
}

/** True when `sha` names a commit present in the local object database. */
export async function hasCommit(git: Git, sha: string): Promise<boolean> {
  try {
    await git.run(["cat-file", "-e", `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fetches single commits by SHA from `origin` (GitHub serves any reachable commit), shallow, so a
 * `fetch-depth: 1` checkout still gives the base commit's tree.
 */
export async function fetchCommits(git: Git, shas: readonly string[]): Promise<void> {
  if (shas.length === 0) return;
  await git.run(["-c", "protocol.version=2", "fetch", "--no-tags", "--no-write-fetch-head", "--depth=1", "origin", ...shas]);
}

export type ChangeStatus = "added" | "modified" | "removed" | "renamed";

export interface ChangedPath {
  path: string;
  status: ChangeStatus;
  /** Path in base for renamed files. */
  previous_path?: string;
}

/**
 * Files changed between two commits as `git diff --name-status -z --find-renames` reports them.
 * Copies count as additions; type changes as modifications.
 */
export async function diffNameStatus(git: Git, base: string, head: string): Promise<ChangedPath[]> {
  const out = (await git.run(["diff", "--name-status", "-z", "--find-renames", "--no-ext-diff", base, head])).toString("utf8");
  const fields = out.split("\0");
  const changes: ChangedPath[] = [];
  for (let i = 0; i < fields.length; ) {
    const code = fields[i++];
    if (code === undefined || code === "") continue;
    const kind = code[0];
    if (kind === "R") {
      const from = fields[i++]!;
      const to = fields[i++]!;
      changes.push({ path: to, status: "renamed", previous_path: from });
    } else if (kind === "C") {
      i++; // the copy's source
      changes.push({ path: fields[i++]!, status: "added" });
    } else {
      const path = fields[i++]!;
      changes.push({ path, status: kind === "A" ? "added" : kind === "D" ? "removed" : "modified" });
    }
  }
  return changes;
}

/** The blob id of `path` in `commit`, or undefined when the commit has no such file. */
export async function blobId(git: Git, commit: string, path: string): Promise<string | undefined> {
  try {
    const out = await git.run(["rev-parse", "--verify", "--quiet", `${commit}:${path}`]);
    return out.toString("utf8").trim();
  } catch {
    return undefined;
  }
}

/** Size in bytes of a blob, without reading it. */
export async function blobSize(git: Git, oid: string): Promise<number> {
  return Number((await git.run(["cat-file", "-s", oid])).toString("utf8").trim());
}

/** The first `length` bytes of a blob (LFS pointers are recognised from these). */
export async function readBlob(git: Git, oid: string, size: number): Promise<Uint8Array> {
  if (size > MAX_GIT_BLOB_BYTES) throw new GitError(`blob ${oid} is ${size} bytes, too large to read from git (use Git LFS)`, "");
  const bytes = await git.run(["cat-file", "blob", oid], size + 1024);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A git config value (optionally from a blob such as `<commit>:.lfsconfig`), or undefined. */
export async function gitConfig(git: Git, key: string, blob?: string): Promise<string | undefined> {
  const args = blob === undefined ? ["config", "--get", key] : ["config", "--blob", blob, "--get", key];
  try {
    const value = (await git.run(args)).toString("utf8").trim();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The git directory (for the local LFS object store). */
export async function gitDir(git: Git): Promise<string> {
  return (await git.run(["rev-parse", "--absolute-git-dir"])).toString("utf8").trim();
}
