/** `alphawatch compare` in-process through cli/main.ts: exit codes, formats, policy files. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../cli/policy-file.js";
import { runCli as run } from "./cli-in-process.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

requireShared("the compare CLI tests on real checkpoints");

const series = (file: string) => sharedPath("models", "series", file);
const scratch = mkdtempSync(path.join(tmpdir(), "aw-compare-cli-"));

describe.skipIf(!hasShared)("alphawatch compare", () => {
  it("exits 3 on fail and prints the verdict and the per-layer table", async () => {
    const { code, stdout, stderr } = await run("compare", series("mlp_epochs/run_ep0020.safetensors"), series("mlp_epochs/run_ep0000.safetensors"), "--jobs", "1");
    expect(stderr).toBe("");
    expect(code).toBe(3);
    const lines = stdout.split("\n");
    expect(lines[0]).toMatch(/^verdict: fail {2}\(base .*run_ep0020\.safetensors → head .*run_ep0000\.safetensors\)$/);
    expect(stdout).toContain("  - fc1: alpha rose from 2.42 to 6.91 (+4.49, 5.1 combined standard errors).");
    expect(stdout).toMatch(/\nfc1 +fail +2\.417 +6\.907 +\+4\.490 +5\.1 /);
    expect(stdout).toMatch(/\nfc3 +pass \(small\) /);
  });

  it("exits 0 on warn, with JSON that parses", async () => {
    const { code, stdout } = await run("compare", series("mlp_epochs/run_ep0000.safetensors"), series("mlp_epochs/run_ep0020.safetensors"), "--format", "json", "--jobs", "1");
    expect(code).toBe(0);
    const comparison = JSON.parse(stdout);
    expect(comparison.verdict).toBe("warn");
    expect(comparison.schemaVersion).toBe(1);
    expect(comparison.layers.map((l: { name: string }) => l.name)).toEqual(["fc1", "fc2", "fc3"]);
  });

  it("writes Markdown and HTML", async () => {
    const a = series("mlp_batchsize/bs0032.safetensors");
    const md = await run("compare", a, a, "--format", "markdown", "--jobs", "1");
    expect(md.code).toBe(0);
    expect(md.stdout.startsWith("## ✅ alphawatch compare: PASS\n")).toBe(true);
    const html = await run("compare", a, series("mlp_batchsize/bs1024.safetensors"), "--format", "html", "--jobs", "1");
    expect(html.code).toBe(3);
    expect(html.stdout).toContain('<span class="verdict verdict-fail" id="verdict">FAIL</span>');
    expect(html.stdout.match(/class="aw-plot aw-esd"/g)!.length).toBe(6);
  });

  it("applies a policy file: with alpha rules off, batch 32 → 1024 only warns on scale", async () => {
    const file = path.join(scratch, "lenient.json");
    writeFileSync(file, JSON.stringify({ alpha_rise: { enabled: false }, mean_alpha_rise: { enabled: false } }));
    const { code, stdout } = await run("compare", series("mlp_batchsize/bs0032.safetensors"), series("mlp_batchsize/bs1024.safetensors"), "--policy", file, "--jobs", "1");
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(0, 2)).toEqual([
      expect.stringMatching(/^verdict: warn /),
      "  - fc2: spectral norm shrank 3.6-fold (log_spectral_norm 1.09 → 0.54): scale collapse.",
    ]);
  });
});

describe("alphawatch compare: bad input", () => {
  it("exits 2 on usage errors", async () => {
    expect((await run("compare", "only-one")).code).toBe(2);
    expect((await run("compare", "a", "b", "--format", "pdf")).code).toBe(2);
  });

  it("exits 1 with one line naming an unreadable file", async () => {
    const missing = path.join(scratch, "missing.safetensors");
    const { code, stderr, stdout } = await run("compare", missing, missing, "--jobs", "1");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(`alphawatch: ${missing}: no such file or directory\n`);
  });

  it("exits 1 naming a policy file that cannot be read, 2 for one that is invalid", async () => {
    const missing = path.join(scratch, "nope.json");
    const unread = await run("compare", "a", "b", "--policy", missing);
    expect(unread.code).toBe(1);
    expect(unread.stderr).toBe(`alphawatch: ${missing}: cannot read policy file (no such file)\n`);
    const bad = path.join(scratch, "bad.json");
    writeFileSync(bad, JSON.stringify({ alpha_rise: { fail: { k_sigma: -1 } } }));
    const invalid = await run("compare", "a", "b", "--policy", bad);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toBe(`alphawatch: ${bad}: invalid policy: field "alpha_rise.fail.k_sigma" must be >= 0\n`);
  });
});

describe("parsePolicy", () => {
  it("names the file and the field of every problem", () => {
    expect(() => parsePolicy('{"alpha_range": {"above": "explode", "hgih": 7}}', "p.json")).toThrow(
      'p.json: invalid policy: unknown field "alpha_range.hgih"; field "alpha_range.above" must be one of "fail", "warn", "info"',
    );
    expect(() => parsePolicy("{not json", "p.json")).toThrow(/^p\.json: policy is not valid JSON \(/);
    expect(() => parsePolicy('{"min_evals": 2.5}', "p.json")).toThrow('p.json: invalid policy: field "min_evals" must be integer');
    expect(() => parsePolicy('{"alpha_range": {"low": 7}}', "p.json")).toThrow("p.json: alpha_range.low (7) must be below alpha_range.high (6)");
  });

  it("accepts a partial policy and a $schema key", () => {
    expect(parsePolicy('{"$schema": "./policy.schema.json", "min_evals": 0, "structure": {"removed": "fail"}}', "p.json")).toEqual({
      min_evals: 0,
      structure: { removed: "fail" },
    });
  });
});
