/**
 * The Action's inputs (action.yml), read and checked before any work: a typo fails the step at
 * once with the input's name and the accepted values.
 */
import { UsageError } from "../../core/errors.js";
import { DEFAULT_PATH_GLOBS, parseGlobList } from "./path-globs.js";

export type FailOn = "fail" | "warn" | "never";
export type CommentWhen = "always" | "on-change" | "never";
export type Mode = "analyze" | "comment";

export interface ActionInputs {
  token: string;
  paths: string[];
  /** Inline JSON policy, a path to a policy file, or "" for the defaults. */
  policy: string;
  failOn: FailOn;
  comment: CommentWhen;
  randomize: boolean;
  /** Analyses at once; undefined: one per available CPU core. */
  jobs: number | undefined;
  apiUrl: string | undefined;
  apiKey: string | undefined;
  mode: Mode;
  /** mode comment: the report file an earlier run wrote. */
  reportFile: string | undefined;
}

/** Reads INPUT_<NAME> the way the runner sets it (upper case, spaces to underscores, hyphens kept). */
export type InputReader = (name: string) => string;

export function envInputReader(env: NodeJS.ProcessEnv): InputReader {
  return (name) => (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

function choice<T extends string>(read: InputReader, name: string, allowed: readonly T[], fallback: T): T {
  const value = read(name);
  if (value === "") return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`input ${name}: ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}

function bool(read: InputReader, name: string, fallback: boolean): boolean {
  const value = read(name);
  if (value === "") return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new UsageError(`input ${name}: ${JSON.stringify(value)} is not true or false`);
}

function positiveInteger(read: InputReader, name: string): number | undefined {
  const value = read(name);
  if (value === "") return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new UsageError(`input ${name}: ${JSON.stringify(value)} is not a positive whole number`);
  return Number(value);
}

export function readInputs(read: InputReader): ActionInputs {
  const paths = parseGlobList(read("paths"));
  const apiUrl = read("api-url");
  const apiKey = read("api-key");
  if (apiUrl !== "") {
    let parsed: URL;
    try {
      parsed = new URL(apiUrl);
    } catch {
      throw new UsageError(`input api-url: ${JSON.stringify(apiUrl)} is not a URL`);
    }
    if (parsed.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) {
      throw new UsageError(`input api-url: ${parsed.origin} is not https (the API key would travel in clear text)`);
    }
    if (apiKey === "") throw new UsageError("input api-key: required with api-url (the Worker API needs a bearer key)");
  }
  const mode = choice(read, "mode", ["analyze", "comment"] as const, "analyze");
  const reportFile = read("report-file");
  if (mode === "comment" && reportFile === "") throw new UsageError("input report-file: required with mode: comment (the report an earlier run wrote)");
  return {
    token: read("github-token"),
    paths: paths.length > 0 ? paths : [...DEFAULT_PATH_GLOBS],
    policy: read("policy"),
    failOn: choice(read, "fail-on", ["fail", "warn", "never"] as const, "fail"),
    comment: choice(read, "comment", ["always", "on-change", "never"] as const, "on-change"),
    randomize: bool(read, "randomize", true),
    jobs: positiveInteger(read, "jobs"),
    apiUrl: apiUrl === "" ? undefined : apiUrl.replace(/\/+$/, ""),
    apiKey: apiKey === "" ? undefined : apiKey,
    mode,
    reportFile: reportFile === "" ? undefined : reportFile,
  };
}
