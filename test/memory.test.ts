/**
 * Peak memory of an analysis does not grow with the file: a checkpoint over 200 MB, generated at
 * test time, is analyzed by the built CLI in a child process whose peak resident set (VmHWM) must
 * stay within 24 MiB of the same process analyzing a 1 MB model: the streaming reuses one float64
 * block and one raw-bytes buffer per tensor, and hashing one 1 MiB buffer, so nothing grows with
 * the file. Measured here: 82 MiB peak for the 204 MB file against 73 MiB for the 1 MB one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeSync, closeSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { xorshiftCentered } from "./seeded-random.js";
import { repoRoot } from "./shared.js";

const MIB = 1024 * 1024;
const ROWS = 400_000;
const COLS = 64;

/** Writes a safetensors file with tall.weight [ROWS, COLS] and wide.weight [COLS, ROWS], F32. */
function writeLargeModel(file: string): void {
  const bytesPerTensor = ROWS * COLS * 4;
  const header = JSON.stringify({
    "tall.weight": { dtype: "F32", shape: [ROWS, COLS], data_offsets: [0, bytesPerTensor] },
    "wide.weight": { dtype: "F32", shape: [COLS, ROWS], data_offsets: [bytesPerTensor, 2 * bytesPerTensor] },
  });
  const headerBytes = new TextEncoder().encode(header);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  const fd = openSync(file, "w");
  writeSync(fd, prefix);
  writeSync(fd, headerBytes);
  const chunk = new Float32Array(MIB);
  // Cheap, deterministic, full-rank data.
  const next = xorshiftCentered(0x9e3779b9);
  for (let written = 0; written < 2 * ROWS * COLS; written += chunk.length) {
    const count = Math.min(chunk.length, 2 * ROWS * COLS - written);
    for (let i = 0; i < count; i++) chunk[i] = next();
    writeSync(fd, new Uint8Array(chunk.buffer, 0, count * 4));
  }
  closeSync(fd);
}

/** Runs `alphawatch analyze FILE --format json` in a child and returns its peak RSS and report. */
function analyzeInChild(file: string): { peakBytes: number; report: { layers: Array<{ name: string; num_evals: number }> } } {
  const script = `
    const { main } = await import(${JSON.stringify(path.join(repoRoot, "build", "cli", "main.js"))});
    let out = "";
    const code = await main(["analyze", ${JSON.stringify(file)}, "--format", "json", "--jobs", "1", "--max-N", "1000000"],
      { stdout: (t) => { out += t; }, stderr: (t) => process.stderr.write(t), interactive: false });
    const status = (await import("node:fs")).readFileSync("/proc/self/status", "utf8");
    const hwm = Number(/VmHWM:\\s+(\\d+) kB/.exec(status)[1]) * 1024;
    process.stdout.write(JSON.stringify({ code, hwm, report: JSON.parse(out) }));
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 300_000, maxBuffer: 64 * MIB });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { code: number; hwm: number; report: { layers: Array<{ name: string; num_evals: number }> } };
  expect(parsed.code).toBe(0);
  return { peakBytes: parsed.hwm, report: parsed.report };
}

describe.skipIf(process.platform !== "linux")("memory stays bounded whatever the file size", () => {
  let dir = "";
  let file = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "aw-memory-"));
    file = path.join(dir, "large.safetensors");
    writeLargeModel(file);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("analyzes a 204 MB checkpoint with a peak RSS within 24 MiB of a 1 MB one", () => {
    expect(statSync(file).size).toBeGreaterThan(200 * 1000 * 1000);
    const small = analyzeInChild(path.join(repoRoot, "examples", "mlp-784-300-100-10.safetensors"));
    const large = analyzeInChild(file);
    expect(large.report.layers.map((l) => [l.name, l.num_evals])).toEqual([["tall", COLS], ["wide", COLS]]);
    const growth = large.peakBytes - small.peakBytes;
    console.log(`peak RSS: 1 MB model ${(small.peakBytes / MIB).toFixed(1)} MiB, 204 MB model ${(large.peakBytes / MIB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(24 * MIB);
  });
});
