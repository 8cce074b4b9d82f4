/**
 * The `policy` input: inline JSON thresholds, or the path of a policy file in the repository. A
 * file is read from the pull request's base commit when it exists there, so that a pull request
 * cannot loosen the policy that judges it; a file only in head is used (with a notice) otherwise.
 */
import type { PolicyOverrides } from "../../core/compare/policy.js";
import { UsageError } from "../../core/errors.js";
import { parsePolicy } from "../../cli/policy-file.js";
import { blobId, blobSize, readBlob, type Git } from "./git.js";

export interface PolicySource {
  overrides: PolicyOverrides;
  /** Where it came from, for the log. */
  origin: string;
}

export async function loadPolicyInput(input: string, git: Git, baseCommit: string, headCommit: string): Promise<PolicySource> {
  if (input === "") return { overrides: {}, origin: "the default policy" };
  if (input.startsWith("{")) return { overrides: parsePolicy(input, "input policy"), origin: "the policy input" };
  const path = input.replace(/^\.\//, "");
  for (const [commit, side] of [[baseCommit, "base"], [headCommit, "head"]] as const) {
    const oid = await blobId(git, commit, path);
    if (oid === undefined) continue;
    const size = await blobSize(git, oid);
    if (size > 1 << 20) throw new UsageError(`${path}: policy file is ${size} bytes; a policy is a small JSON file`);
    const text = new TextDecoder().decode(await readBlob(git, oid, size));
    return { overrides: parsePolicy(text, `${path} (${side} ${commit.slice(0, 7)})`), origin: `${path} from the ${side} commit` };
  }
  throw new UsageError(`input policy: ${path} is neither JSON nor a file in the base or head commit`);
}
