/**
 * Regression policy JSON (docs/policy.md) as the Node front ends take it: the CLI's `--policy`
 * file and the Action's `policy` input. The text is validated against POLICY_SCHEMA and the
 * thresholds resolved once here, so both reject the same files with the same messages.
 */
import { readFile } from "node:fs/promises";
import { Ajv, type ErrorObject } from "ajv";
import { POLICY_SCHEMA, resolvePolicy, type PolicyOverrides } from "../core/compare/policy.js";
import { SourceError, UsageError } from "../core/errors.js";

let validatePolicy: ReturnType<Ajv["compile"]> | undefined;

/**
 * Reads a policy file: JSON validated against POLICY_SCHEMA. Errors name the file and the field.
 * Unreadable: SourceError (exit 1); not JSON, or a wrong field: UsageError (exit 2).
 */
export async function loadPolicyFile(file: string): Promise<PolicyOverrides> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`${file}: cannot read policy file (${code === "ENOENT" ? "no such file" : code ?? String(error)})`);
  }
  return parsePolicy(text, file);
}

/** Parses and validates policy JSON text; `file` names it in error messages. */
export function parsePolicy(text: string, file: string): PolicyOverrides {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: policy is not valid JSON (${(error as Error).message})`);
  }
  validatePolicy ??= new Ajv({ allErrors: true, strict: true }).compile(POLICY_SCHEMA);
  if (!validatePolicy(data)) {
    const problems = (validatePolicy.errors ?? []).map(describeSchemaError);
    throw new UsageError(`${file}: invalid policy: ${problems.join("; ")}`);
  }
  const { $schema: _ignored, ...overrides } = data as PolicyOverrides & { $schema?: string };
  try {
    resolvePolicy(overrides);
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message.replace(/^policy: /, "")}`);
  }
  return overrides;
}

function describeSchemaError(error: ErrorObject): string {
  const field = error.instancePath === "" ? "" : error.instancePath.slice(1).replaceAll("/", ".");
  if (error.keyword === "additionalProperties") {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return `unknown field "${field === "" ? extra : `${field}.${extra}`}"`;
  }
  if (error.keyword === "enum") {
    return `field "${field}" must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return field === "" ? `policy ${error.message ?? "is invalid"}` : `field "${field}" ${error.message ?? "is invalid"}`;
}
