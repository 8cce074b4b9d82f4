/**
 * One version of a checkpoint file (a path at a commit), identified by its content: the LFS oid
 * when the blob is an LFS pointer, else the git blob id. Locating it says where its bytes are: in
 * git, in the local LFS store, or on the LFS server (read with range requests).
 */
import { access } from "node:fs/promises";
import path from "node:path";
import { SourceError } from "../../core/errors.js";
import type { CheckpointLocation } from "./checkpoint-location.js";
import { blobId, blobSize, readBlob, type Git } from "./git.js";
import { MAX_POINTER_BYTES, parseLfsPointer, type LfsPointer } from "./lfs-pointer.js";
import type { LfsDownload } from "./lfs-batch.js";

export interface CheckpointVersion {
  path: string;
  commit: string;
  /** Git blob id. */
  blob: string;
  /** Size of the real file (the LFS object's size for a pointer). */
  size: number;
  lfs?: LfsPointer;
  /** Content identity: `lfs:<sha256>` or `git:<blob id>`; analyses are cached by it. */
  key: string;
}

/** The version of `filePath` in `commit`, or undefined when the commit has no such file. */
export async function checkpointVersion(git: Git, commit: string, filePath: string): Promise<CheckpointVersion | undefined> {
  const blob = await blobId(git, commit, filePath);
  if (blob === undefined) return undefined;
  const size = await blobSize(git, blob);
  if (size <= MAX_POINTER_BYTES) {
    const lfs = parseLfsPointer(await readBlob(git, blob, size));
    if (lfs !== undefined) return { path: filePath, commit, blob, size: lfs.size, lfs, key: `lfs:${lfs.oid}` };
  }
  return { path: filePath, commit, blob, size, key: `git:${blob}` };
}

/** Same bytes on both sides: nothing to analyze. */
export function sameContent(a: CheckpointVersion, b: CheckpointVersion): boolean {
  return a.key === b.key;
}

/** Where git-lfs keeps an object locally (present when the checkout fetched LFS files). */
export function localLfsObjectPath(gitDirectory: string, oid: string): string {
  return path.join(gitDirectory, "lfs", "objects", oid.slice(0, 2), oid.slice(2, 4), oid);
}

export async function hasLocalLfsObject(gitDirectory: string, oid: string): Promise<boolean> {
  try {
    await access(localLfsObjectPath(gitDirectory, oid));
    return true;
  } catch {
    return false;
  }
}

export interface OpenContext {
  git: Git;
  gitDirectory: string;
  /** Download addresses from the LFS batch API, by oid (an Error when the server refused one). */
  lfsDownloads: ReadonlyMap<string, LfsDownload | Error>;
}

/** Display name of a version in reports: path and short commit. */
export function versionName(version: CheckpointVersion): string {
  return `${version.path}@${version.commit.slice(0, 7)}`;
}

/**
 * Where to read a version: its blob's bytes from git, the local LFS store, or the LFS server.
 * Errors name the version (path@commit).
 */
export async function locateVersion(version: CheckpointVersion, context: OpenContext): Promise<CheckpointLocation> {
  const pointer = version.lfs;
  if (pointer === undefined) return { kind: "bytes", bytes: await readBlob(context.git, version.blob, version.size) };
  if (await hasLocalLfsObject(context.gitDirectory, pointer.oid)) return { kind: "file", path: localLfsObjectPath(context.gitDirectory, pointer.oid) };
  const name = versionName(version);
  const download = context.lfsDownloads.get(pointer.oid);
  if (download === undefined) throw new SourceError(`${name}: Git LFS object ${pointer.oid} was not requested from the LFS server`);
  if (download instanceof Error) throw new SourceError(`${name}: ${download.message}`);
  return { kind: "http", href: download.href, headers: download.headers };
}
