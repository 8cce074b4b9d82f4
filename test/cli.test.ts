/**
 * The CLI as users run it: the built `build/cli/bin.js` in a child process, asserting exit codes,
 * exact error lines and the values it prints.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { hasShared, repoRoot, requireShared, sharedPath } from "./shared.js";

const bin = path.join(repoRoot, "build", "cli", "bin.js");
const example = "examples/mlp-784-300-100-10.safetensors";

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// weightwatcher 0.7.5.5 on the same weights (models/series/ww-0.7.5.5-layers.tsv, run_ep0100).
const WW_ALPHA: Record<string, number> = { fc1: 2.3159213369555864, fc2: 1.8975835320489103, fc3: 9.23414364056348 };

describe("alphawatch analyze", () => {
  it("prints the per-layer table and the summary of the example", () => {
    const { code, stdout, stderr } = run("analyze", example);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(`${example} (safetensors, 3 layers analyzed, 3 tensors skipped)`);
    expect(lines[2]).toMatch(/^id\s+name\s+type\s+N\s+M\s+alpha\s+sigma\s+D\s+spikes\s+evals\s+lambda_max\s+log_spec_norm\s+stable_rank\s+warning$/);
    expect(lines[3]).toMatch(/^ 1\s+fc1\s+dense\s+784\s+300\s+2\.316\s/);
    expect(lines[4]).toMatch(/^ 2\s+fc2\s+dense\s+300\s+100\s+1\.898\s.*over-trained$/);
    expect(lines[5]).toMatch(/^ 3\s+fc3\s+dense\s+100\s+10\s+9\.234\*\s.*under-trained$/);
    expect(stdout).toContain("Skipped:\n  fc1.bias: ");
    // reliable_alpha leaves out fc3, whose fit rests on 10 eigenvalues: (2.3159 + 1.8976) / 2.
    expect(stdout).toMatch(/Summary:\n {2}reliable_alpha {5}2\.1068\n {2}alpha {14}4\.4825\n/);
    expect(stdout).toContain("\n* fit on fewer than 50 eigenvalues: unreliable, left out of reliable_alpha (2 of 3 layers count)\n");
  });

  it("writes the versioned JSON report with weightwatcher's numbers", () => {
    const { code, stdout } = run("analyze", example, "--format", "json");
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.tool.name).toBe("alphawatch");
    expect(report.source.format).toBe("safetensors");
    expect(report.source.sha256).toBe("80beaadd97ae46057384ea2256889302ec91a2e8d93368625db5d37cd67ce3a7");
    expect(report.options.compat).toBe("default");
    expect(report.layers.map((l: { name: string }) => l.name)).toEqual(["fc1", "fc2", "fc3"]);
    for (const layer of report.layers) {
      expect(Math.abs(layer.alpha - WW_ALPHA[layer.name]!) / WW_ALPHA[layer.name]!).toBeLessThan(1e-9);
    }
    expect(report.skipped.map((s: { name: string }) => s.name)).toEqual(["fc1.bias", "fc2.bias", "fc3.bias"]);
    expect(report.summary.num_layers).toBe(3);
  });

  it("gives the same layers with --jobs 1 and --jobs 2", () => {
    const one = JSON.parse(run("analyze", example, "--format", "json", "--jobs", "1").stdout);
    const two = JSON.parse(run("analyze", example, "--format", "json", "--jobs", "2").stdout);
    expect(two.layers).toEqual(one.layers);
    expect(two.summary).toEqual(one.summary);
  });

  it("writes CSV with weightwatcher's column names", () => {
    const { code, stdout } = run("analyze", example, "--format", "csv");
    expect(code).toBe(0);
    const [header, first] = stdout.split("\n");
    const columns = header!.split(",");
    for (const column of ["layer_id", "name", "alpha", "D", "xmin", "lambda_max", "log_spectral_norm", "stable_rank", "matrix_rank", "entropy"]) {
      expect(columns).toContain(column);
    }
    const values = first!.split(",");
    expect(values[columns.indexOf("name")]).toBe("fc1");
    expect(Number(values[columns.indexOf("alpha")])).toBeCloseTo(2.3159213369555864, 12);
  });

  it("exits 1 with one line naming a missing file", () => {
    const { code, stdout, stderr } = run("analyze", "no/such/model.safetensors");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("alphawatch: no/such/model.safetensors: no such file or directory\n");
  });

  it("exits 1 on a file that is not a model", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "aw-cli-"));
    const file = path.join(dir, "notes.safetensors");
    writeFileSync(file, "just some text, not a model\n");
    const { code, stderr } = run("analyze", file);
    expect(code).toBe(1);
    expect(stderr).toBe(`alphawatch: ${file}: not a model file alphawatch can read (unrecognised content, first bytes 6a 75 73 74 20 73 6f 6d)\n`);
  });

  it("exits 2 on bad usage", () => {
    expect(run("analyze", example, "--min-evals", "ten").code).toBe(2);
    expect(run("analyze", example, "--format", "yaml").code).toBe(2);
    expect(run("analyse", example).code).toBe(2);
    expect(run("analyze").code).toBe(2);
    const conflicting = run("analyze", example, "--min-evals", "500", "--max-evals", "100");
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr).toMatch(/^alphawatch: .*min_evals.*\n$/);
  });

  it("prints its version and help with exit code 0", () => {
    const version = run("--version");
    expect(version.code).toBe(0);
    expect(version.stdout).toBe("0.1.0\n");
    expect(run("analyze", "--help").code).toBe(0);
  });
});

describe.skipIf(!hasShared)("alphawatch analyze on reference data", () => {
  requireShared("CLI checks on ../shared models");
  it("rejects an HTML page saved as .onnx", () => {
    const file = sharedPath("models", "real", "not-a-model", "model.onnx");
    const { code, stderr } = run("analyze", file);
    expect(code).toBe(1);
    expect(stderr.split("\n").length).toBe(2);
    expect(stderr).toContain(file);
    expect(stderr).toMatch(/HTML/);
  });
});
