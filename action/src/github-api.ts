/**
 * The REST calls the Action makes: the pull request's changed files (paginated), and one comment
 * per pull request found again by its marker and updated in place.
 */
import { getOctokit } from "@actions/github";
import type { ChangedPath, ChangeStatus } from "./git.js";

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface RepoRef {
  owner: string;
  repo: string;
}

export function repoRef(fullName: string): RepoRef {
  const [owner, repo, extra] = fullName.split("/");
  if (owner === undefined || repo === undefined || extra !== undefined || owner === "" || repo === "") {
    throw new Error(`"${fullName}" is not an owner/name repository`);
  }
  return { owner, repo };
}

const STATUS: Record<string, ChangeStatus> = {
  added: "added",
  removed: "removed",
  modified: "modified",
  renamed: "renamed",
  copied: "added",
  changed: "modified",
  unchanged: "modified",
};

/** The pull request's changed files from the REST API (all pages; GitHub lists up to 3000). */
export async function listPullRequestFiles(client: GitHubClient, ref: RepoRef, pullNumber: number): Promise<ChangedPath[]> {
  const files = await client.paginate(client.rest.pulls.listFiles, { ...ref, pull_number: pullNumber, per_page: 100 });
  return files.map((f) => {
    const change: ChangedPath = { path: f.filename, status: STATUS[f.status] ?? "modified" };
    if (f.status === "renamed" && f.previous_filename !== undefined) change.previous_path = f.previous_filename;
    return change;
  });
}

export interface PostedComment {
  id: number;
  url: string;
  created: boolean;
}

/**
 * Updates the comment that carries `marker`, or creates it (when `createIfMissing`): never a
 * second one. Undefined when there was none and none was created.
 */
export async function upsertComment(
  client: GitHubClient,
  ref: RepoRef,
  issueNumber: number,
  marker: string,
  body: string,
  createIfMissing = true,
): Promise<PostedComment | undefined> {
  const comments = await client.paginate(client.rest.issues.listComments, { ...ref, issue_number: issueNumber, per_page: 100 });
  const existing = comments.find((c) => typeof c.body === "string" && c.body.includes(marker));
  if (existing !== undefined) {
    const { data } = await client.rest.issues.updateComment({ ...ref, comment_id: existing.id, body });
    return { id: data.id, url: data.html_url, created: false };
  }
  if (!createIfMissing) return undefined;
  const { data } = await client.rest.issues.createComment({ ...ref, issue_number: issueNumber, body });
  return { id: data.id, url: data.html_url, created: true };
}

/** The head commit SHA of a pull request (mode comment checks the report is about it). */
export async function pullRequestHeadSha(client: GitHubClient, ref: RepoRef, pullNumber: number): Promise<string> {
  const { data } = await client.rest.pulls.get({ ...ref, pull_number: pullNumber });
  return data.head.sha;
}

/** HTTP status of an Octokit error, if it is one. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status : undefined;
}
