/**
 * The pull request a run is about, from the event payload the runner writes to GITHUB_EVENT_PATH.
 */
import { UsageError } from "../../core/errors.js";

export interface PullRequestInfo {
  number: number;
  /** owner/name of the repository the pull request targets. */
  repository: string;
  baseSha: string;
  headSha: string;
  /** The head branch lives in another repository: the workflow token is read-only. */
  fromFork: boolean;
}

const PR_EVENTS = new Set(["pull_request", "pull_request_target"]);

interface RepoRef {
  full_name?: unknown;
}
interface PullRequestPayload {
  number?: unknown;
  base?: { sha?: unknown; repo?: RepoRef | null };
  head?: { sha?: unknown; repo?: RepoRef | null };
}

export function pullRequestFromEvent(eventName: string, payload: Record<string, unknown>, repository: string): PullRequestInfo {
  if (!PR_EVENTS.has(eventName)) {
    throw new UsageError(`the Action compares the checkpoints of a pull request; this run is a ${JSON.stringify(eventName)} event (use on: pull_request, or mode: comment under workflow_run)`);
  }
  const pr = payload.pull_request as PullRequestPayload | undefined;
  if (pr === undefined || typeof pr !== "object") throw new UsageError(`the ${eventName} event payload has no pull_request`);
  const number = pr.number;
  const baseSha = pr.base?.sha;
  const headSha = pr.head?.sha;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || typeof baseSha !== "string" || typeof headSha !== "string") {
    throw new UsageError(`the ${eventName} event payload lacks the pull request number or its base and head SHAs`);
  }
  const baseRepo = typeof pr.base?.repo?.full_name === "string" ? pr.base.repo.full_name : repository;
  const headRepo = pr.head?.repo?.full_name;
  return {
    number,
    repository: baseRepo,
    baseSha,
    headSha,
    // A deleted fork leaves head.repo null: still not this repository.
    fromFork: eventName === "pull_request" && headRepo !== baseRepo,
  };
}
