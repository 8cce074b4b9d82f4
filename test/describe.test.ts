/**
 * describe(): weightwatcher's describe() columns (spec §11) from the header alone, checked against
 * the oracle's describe goldens under compat "ww"; and the `alphawatch describe` command.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describe as describeModel } from "../core/describe.js";
import { bytesSource } from "../core/formats/byte-source.js";
import type { ByteSource } from "../core/formats/byte-source.js";
import { runCli } from "./cli-in-process.js";
import { writeSafetensors, type FixtureTensor } from "./fixtures.js";
import { oracleCases, type GoldenRow } from "./golden.js";
import { hasShared, repoRoot, requireShared, sharedPath } from "./shared.js";
import path from "node:path";

const DESCRIBE_COLUMNS = ["layer_id", "name", "M", "N", "Q", "layer_type", "longname", "num_evals", "rf"] as const;

function caseSource(caseName: string): ByteSource {
  return bytesSource(new Uint8Array(readFileSync(sharedPath("oracle", "cases", `${caseName}.safetensors`))), `${caseName}.safetensors`);
}

describe.skipIf(!hasShared)("describe() against weightwatcher 0.7.5.5's describe goldens (compat ww)", () => {
  for (const caseName of hasShared ? oracleCases() : []) {
    it(caseName, async () => {
      const golden = JSON.parse(readFileSync(sharedPath("oracle", "golden", caseName, "describe.json"), "utf8")) as { details: GoldenRow[]; error: string | null };
      expect(golden.error).toBeNull();
      const description = await describeModel(caseSource(caseName), { compat: "ww" });
      const rows = description.layers.map((l) => Object.fromEntries(DESCRIBE_COLUMNS.map((c) => [c, l[c]])));
      expect(rows).toEqual(golden.details.map((g) => Object.fromEntries(DESCRIBE_COLUMNS.map((c) => [c, g[c]]))));
    });
  }

  it("the default mode lists the conv1d layer too (analyzed per tap there), with dtype and shape", async () => {
    const description = await describeModel(caseSource("mixed_model"));
    expect(description.layers.find((l) => l.layer_type === "conv1d")).toMatchObject({
      layer_id: 5, name: "e_conv1d", N: 16, M: 8, rf: 5, num_evals: 40, dtype: "F64", shape: [16, 8, 5],
    });
    expect(description.layers.map((l) => l.name)).toEqual(["a_fc", "c_conv", "d_emb", "e_conv1d", "f_head"]);
  });
});

/** A tensor of deterministic values (describe never reads them). */
function f64(name: string, shape: number[], seed: number): FixtureTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: "F64", shape, data: Float64Array.from({ length: count }, (_, i) => Math.sin(seed * 1000 + i)) };
}

describe("describe() without ../shared", () => {
  const tensors = [f64("fc1.weight", [50, 20], 1), f64("fc1.bias", [50], 2), f64("conv.weight", [8, 4, 3, 3], 3), f64("tiny.weight", [4, 3], 4)];
  const bytes = writeSafetensors(tensors, {});

  it("pool false lists each conv2d layer once with M eigenvalues; min_evals skips are reported", async () => {
    const pooled = await describeModel(bytesSource(bytes, "m.safetensors"));
    expect(pooled.layers.map((l) => [l.layer_id, l.name, l.layer_type, l.N, l.M, l.rf, l.num_evals])).toEqual([
      [1, "fc1", "dense", 50, 20, 1, 20], [2, "conv", "conv2d", 8, 4, 9, 36],
    ]);
    expect(pooled.skipped.map((s) => s.name)).toEqual(["fc1.bias", "tiny.weight"]);
    const slices = await describeModel(bytesSource(bytes, "m.safetensors"), { pool: false, min_evals: 0 });
    expect(slices.layers.map((l) => [l.name, l.num_evals])).toEqual([["fc1", 20], ["conv", 4], ["tiny", 3]]);
  });

  it("alphawatch describe prints the table and the JSON", async () => {
    const dir = path.join(repoRoot, "examples", "mlp-784-300-100-10.safetensors");
    const table = await runCli("describe", dir);
    expect(table.code).toBe(0);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toBe(`${dir} (safetensors): 3 layers`);
    expect(lines[1]).toMatch(/^id\s+name\s+type\s+N\s+M\s+Q\s+rf\s+evals\s+dtype\s+shape$/);
    expect(lines[2]).toMatch(/^ 1\s+fc1\s+dense\s+784\s+300\s+2\.613\s+1\s+300\s+F32\s+300x784$/);
    expect(lines[4]).toMatch(/^ 3\s+fc3\s+dense\s+100\s+10\s+10\s+1\s+10\s+F32\s+10x100$/);
    const json = await runCli("describe", dir, "--format", "json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { layers: Array<{ name: string; num_evals: number }> };
    expect(parsed.layers.map((l) => [l.name, l.num_evals])).toEqual([["fc1", 300], ["fc2", 100], ["fc3", 10]]);
    const bad = await runCli("describe", dir, "--format", "csv");
    expect(bad.code).toBe(2);
  });
});

if (!hasShared) requireShared("describe goldens");
