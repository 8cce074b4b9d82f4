/** The Action's pieces on their own: globs, LFS pointers, inputs, verdict rules, the comment, the OpenAPI check. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../core/errors.js";
import { checkActionReport, failsCheck, worstVerdict, type ActionReport } from "../../action/src/action-report.js";
import { COMMENT_MARKER, renderActionComment } from "../../action/src/comment-body.js";
import { readInputs } from "../../action/src/inputs.js";
import { lfsEndpoint } from "../../action/src/lfs-batch.js";
import { parseLfsPointer } from "../../action/src/lfs-pointer.js";
import { globToRegExp, pathMatcher } from "../../action/src/path-globs.js";
import { parsePolicy as parsePolicyText } from "../../cli/policy-file.js";
import { repoRoot } from "../shared.js";
import { GitHubOpenApi } from "./github-openapi.js";

describe("paths globs", () => {
  it("match file names anywhere, folders with **, alternatives and exclusions", () => {
    const m = pathMatcher(["*.safetensors", "ckpt/**/*.{pt,bin}", "!**/tmp/**"]);
    expect(m.matches("model.safetensors")).toBe(true);
    expect(m.matches("a/b/model.safetensors")).toBe(true);
    expect(m.matches("a/tmp/model.safetensors")).toBe(false);
    expect(m.matches("ckpt/model.pt")).toBe(true);
    expect(m.matches("ckpt/x/y/model.bin")).toBe(true);
    expect(m.matches("other/model.pt")).toBe(false);
    expect(m.matches("model.safetensors.index.json")).toBe(false);
    expect(globToRegExp("models/*.gguf").test("models/sub/a.gguf")).toBe(false);
    expect(() => globToRegExp("{a,b")).toThrow(UsageError);
  });
});

describe("Git LFS pointers", () => {
  const oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
  it("are parsed only when every rule holds", () => {
    const text = `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize 12345\n`;
    expect(parseLfsPointer(new TextEncoder().encode(text))).toEqual({ oid, size: 12345 });
    const bad = [
      text.slice(0, -1), // no final newline
      text.replace("size 12345\n", ""), // no size
      text.replace(`oid sha256:${oid}\nsize 12345`, `size 12345\noid sha256:${oid}`), // keys out of order
      text.replace("sha256:", "sha1:"),
      text.replace("spec/v1", "spec/v2"),
    ];
    for (const b of bad) expect(parseLfsPointer(new TextEncoder().encode(b))).toBeUndefined();
  });
  it("send the token only to the GitHub server's own LFS endpoint", () => {
    const github = lfsEndpoint({ configuredUrl: undefined, serverUrl: "https://github.com", repository: "o/r", token: "t" });
    expect(github.url).toBe("https://github.com/o/r.git/info/lfs");
    expect(github.headers.authorization).toBe(`Basic ${Buffer.from("x-access-token:t").toString("base64")}`);
    const elsewhere = lfsEndpoint({ configuredUrl: "https://lfs.example.com/o/r/", serverUrl: "https://github.com", repository: "o/r", token: "t" });
    expect(elsewhere).toEqual({ url: "https://lfs.example.com/o/r", headers: {} });
  });
});

describe("inputs", () => {
  const reader = (values: Record<string, string>) => (name: string) => values[name] ?? "";
  it("have documented defaults and refuse bad values by name", () => {
    const inputs = readInputs(reader({ "github-token": "x" }));
    expect(inputs).toMatchObject({ failOn: "fail", comment: "on-change", randomize: true, mode: "analyze", policy: "" });
    expect(inputs.paths).toContain("*.safetensors");
    expect(readInputs(reader({ paths: "a/*.pt\n# note\nb/*.bin, c.gguf" })).paths).toEqual(["a/*.pt", "b/*.bin", "c.gguf"]);
    expect(() => readInputs(reader({ randomize: "maybe" }))).toThrow('input randomize: "maybe" is not true or false');
    expect(inputs.jobs).toBeUndefined();
    expect(readInputs(reader({ jobs: "3" })).jobs).toBe(3);
    for (const bad of ["0", "-2", "1.5", "two"]) expect(() => readInputs(reader({ jobs: bad }))).toThrow(`input jobs: "${bad}" is not a positive whole number`);
    expect(() => readInputs(reader({ "api-url": "http://example.com", "api-key": "k" }))).toThrow("input api-url: http://example.com is not https");
    expect(() => readInputs(reader({ "api-url": "https://example.com" }))).toThrow("input api-key: required with api-url");
    expect(() => readInputs(reader({ mode: "comment" }))).toThrow("input report-file: required with mode: comment");
  });
  it("are the ones action.yml declares and docs/action.md documents", () => {
    const yml = readFileSync(path.join(repoRoot, "action.yml"), "utf8");
    const declared = [...yml.split(/^outputs:/m)[0]!.matchAll(/^ {2}([a-z-]+):$/gm)].map((m) => m[1]);
    const source = readFileSync(path.join(repoRoot, "action", "src", "inputs.ts"), "utf8");
    const read = [...source.matchAll(/read(?:, )?\(?"([a-z-]+)"/g)].map((m) => m[1]);
    expect([...new Set(read)].sort()).toEqual([...declared].sort());
    const docs = readFileSync(path.join(repoRoot, "docs", "action.md"), "utf8");
    for (const name of declared) expect(docs).toContain(`| \`${name}\` |`);
  });
  it("accept a policy as inline JSON, validated like a policy file", () => {
    expect(parsePolicyText('{"alpha_rise": {"fail": {"k_sigma": 4}}}', "input policy")).toEqual({ alpha_rise: { fail: { k_sigma: 4 } } });
    expect(() => parsePolicyText('{"alpha_rice": {}}', "input policy")).toThrow('input policy: invalid policy: unknown field "alpha_rice"');
  });
});

describe("verdict rules", () => {
  it("take the worst verdict and fail the step per fail-on", () => {
    expect(worstVerdict(["pass", "warn", "pass"])).toBe("warn");
    expect(worstVerdict([])).toBe("pass");
    expect([failsCheck("warn", "fail"), failsCheck("fail", "fail"), failsCheck("warn", "warn"), failsCheck("fail", "never")]).toEqual([false, true, true, false]);
  });
});

const report: ActionReport = {
  schemaVersion: 1,
  tool: { name: "alphawatch-action", version: "0.1.0" },
  repository: "o/r",
  pull_request: 5,
  base_sha: "a".repeat(40),
  head_sha: "b".repeat(40),
  verdict: "fail",
  files: [
    { path: "m/x.safetensors", status: "modified", outcome: "error", side: "head", error: "m/x.safetensors@bbbbbbb: invalid | header", verdict: "fail" },
    { path: "m/gone.pt", status: "removed", outcome: "removed", verdict: "pass" },
  ],
  regressions: [{ file: "m/x.safetensors", verdict: "fail", reason: "head unreadable" }],
};

describe("the comment", () => {
  it("opens with the marker and the verdict, escapes table cells, and keeps within the limit", () => {
    const body = renderActionComment(report, { fullReport: "the run" });
    expect(body.startsWith(`${COMMENT_MARKER}\n\n## ❌ alphawatch: FAIL\n\n2 checkpoint files changed in this pull request (base \`aaaaaaa\` → head \`bbbbbbb\`).`)).toBe(true);
    expect(body).toContain("| m/x.safetensors | modified | ❌ fail | cannot be read (head): m/x.safetensors@bbbbbbb: invalid \\| header |");
    expect(body).toContain("| m/gone.pt | removed | ✅ pass | deleted |");
    const many: ActionReport = { ...report, files: Array.from({ length: 400 }, (_, i) => ({ ...report.files[0]!, path: `m/${i}.safetensors` })) };
    const long = renderActionComment(many, { fullReport: "the run", limit: 20_000 });
    expect(long.length).toBeLessThanOrEqual(65_536);
  });
  it("reads back only a well-formed report (mode comment)", () => {
    expect(checkActionReport(JSON.parse(JSON.stringify(report)), "r.json").pull_request).toBe(5);
    expect(() => checkActionReport({ ...report, pull_request: "5; rm -rf" }, "r.json")).toThrow("r.json: not an alphawatch Action report (pull_request is not a positive integer)");
    expect(() => checkActionReport({ ...report, head_sha: "main" }, "r.json")).toThrow("head_sha is not a commit SHA");
  });
});

describe("the OpenAPI check of the fake GitHub API", () => {
  const api = new GitHubOpenApi();
  const url = (p: string) => new URL(`http://127.0.0.1${p}`);
  it("accepts the Action's requests and refuses malformed ones with the reason", () => {
    expect(api.validateRequest("GET", url("/repos/o/r/pulls/1/files?per_page=100&page=2"), undefined, undefined).problems).toEqual([]);
    expect(api.validateRequest("POST", url("/repos/o/r/issues/1/comments"), { body: "x" }, "application/json; charset=utf-8").problems).toEqual([]);
    expect(api.validateRequest("GET", url("/repos/o/r/pulls/1/files?per_page=lots"), undefined, undefined).problems).toEqual([
      'query parameter per_page="lots": data must be integer',
    ]);
    expect(api.validateRequest("GET", url("/repos/o/r/pulls/1/files?perpage=5"), undefined, undefined).problems).toEqual([
      "query parameter perpage is not declared for pulls/list-files",
    ]);
    expect(api.validateRequest("POST", url("/repos/o/r/issues/1/comments"), { text: "x" }, "application/json").problems).toEqual([
      "issues/create-comment body: data must have required property 'body'",
    ]);
    expect(api.validateRequest("PUT", url("/repos/o/r/issues/1/comments"), { body: "x" }, "application/json").problems).toEqual([
      "PUT /repos/o/r/issues/1/comments: no such operation in api.github.com",
    ]);
    expect(api.validateResponse("POST", "/repos/o/r/issues/1/comments", 201, { id: 1 })[0]).toMatch(/^issues\/create-comment response 201: data must have required property/);
  });
});
