/**
 * The `policy` input: inline JSON thresholds, or the path of a policy file in the repository. A
 * file is read from the pull request's base commit when it exists there, so that a pull request
 * cannot loosen the policy that judges it; a file only in head is used (with a notice) otherwise.
 */
import { Ajv, type ErrorObject } from "ajv";
import { POLICY_SCHEMA, resolvePolicy, type PolicyOverrides } from "../../core/compare/policy.js";
import { UsageError } from "../../core/errors.js";
import { blobId, blobSize, readBlob, type Git } from "./git.js";

let validate: ReturnType<Ajv["compile"]> | undefined;

export function parsePolicyText(text: string, where: string): PolicyOverrides {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: policy is not valid JSON (${(error as Error).message})`);
  }
  validate ??= new Ajv({ allErrors: true, strict: true }).compile(POLICY_SCHEMA);
  if (!validate(data)) {
    throw new UsageError(`${where}: invalid policy: ${(validate.errors ?? []).map(describe).join("; ")}`);
  }
  const { $schema: _schema, ...overrides } = data as PolicyOverrides & { $schema?: string };
  try {
    resolvePolicy(overrides);
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message.replace(/^policy: /, "")}`);
  }
  return overrides;
}

function describe(error: ErrorObject): string {
  const field = error.instancePath === "" ? "" : error.instancePath.slice(1).replaceAll("/", ".");
  if (error.keyword === "additionalProperties") {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return `unknown field "${field === "" ? extra : `${field}.${extra}`}"`;
  }
  return field === "" ? `policy ${error.message ?? "is invalid"}` : `field "${field}" ${error.message ?? "is invalid"}`;
}

export interface PolicySource {
  overrides: PolicyOverrides;
  /** Where it came from, for the log. */
  origin: string;
}

export async function loadPolicyInput(input: string, git: Git, baseCommit: string, headCommit: string): Promise<PolicySource> {
  if (input === "") return { overrides: {}, origin: "the default policy" };
  if (input.startsWith("{")) return { overrides: parsePolicyText(input, "input policy"), origin: "the policy input" };
  const path = input.replace(/^\.\//, "");
  for (const [commit, side] of [[baseCommit, "base"], [headCommit, "head"]] as const) {
    const oid = await blobId(git, commit, path);
    if (oid === undefined) continue;
    const size = await blobSize(git, oid);
    if (size > 1 << 20) throw new UsageError(`${path}: policy file is ${size} bytes; a policy is a small JSON file`);
    const text = new TextDecoder().decode(await readBlob(git, oid, size));
    return { overrides: parsePolicyText(text, `${path} (${side} ${commit.slice(0, 7)})`), origin: `${path} from the ${side} commit` };
  }
  throw new UsageError(`input policy: ${path} is neither JSON nor a file in the base or head commit`);
}
