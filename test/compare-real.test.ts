/**
 * compare on real checkpoints (../shared/models): trained vs untrained, batch-size series, a model
 * against itself, and a Hugging Face Llama checkpoint against its llama.cpp GGUF files.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze } from "../core/analyze.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { compareReports, DELTA_METRICS, type Comparison } from "../core/compare/index.js";
import type { Report } from "../core/report.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

requireShared("compare tests on real checkpoints");

async function analyzeFile(...parts: string[]): Promise<Report> {
  const name = parts.join("/");
  const kernel = await loadSpectralKernel();
  return analyze(bytesSource(new Uint8Array(readFileSync(sharedPath(...parts))), name), {}, { kernel, hashSource: false });
}

const named = (c: Comparison, verdict: "fail" | "warn") => c.layers.filter((l) => l.verdict === verdict).map((l) => l.name);

describe.skipIf(!hasShared)("compare on models/series", () => {
  const reports = new Map<string, Report>();
  beforeAll(async () => {
    for (const file of ["mlp_epochs/run_ep0000", "mlp_epochs/run_ep0020", "mlp_batchsize/bs0032", "mlp_batchsize/bs1024"]) {
      reports.set(file, await analyzeFile("models", "series", `${file}.safetensors`));
    }
  });
  const get = (file: string) => reports.get(file)!;

  it("a trained model replaced by its initialization fails, naming fc1 and fc2", () => {
    const c = compareReports(get("mlp_epochs/run_ep0020"), get("mlp_epochs/run_ep0000"));
    expect(c.verdict).toBe("fail");
    expect(named(c, "fail")).toEqual(["fc1", "fc2"]);
    const [fc1, fc2] = c.layers;
    // weightwatcher 0.7.5.5: fc1 2.4169 → 6.9067, fc2 1.9533 → 14.2972.
    expect(fc1!.changes.alpha.base).toBeCloseTo(2.4168993108132764, 6);
    expect(fc1!.changes.alpha.head).toBeCloseTo(6.906652342511967, 6);
    expect(fc2!.changes.alpha.head).toBeCloseTo(14.297184101200147, 6);
    expect(c.reasons).toContain("fc1: alpha rose from 2.42 to 6.91 (+4.49, 5.1 combined standard errors).");
    expect(c.reasons).toContain("fc2: alpha rose above 6 (1.95 → 14.30): the layer now looks under-trained, close to random.");
    expect(c.layers[2]!.deciding).toBe(false); // fc3: 10 eigenvalues
  });

  it("the initialization → trained model does not fail", () => {
    const c = compareReports(get("mlp_epochs/run_ep0000"), get("mlp_epochs/run_ep0020"));
    expect(c.verdict).not.toBe("fail");
    expect(c.verdict).toBe("warn");
    expect(c.reasons).toEqual(["fc2: alpha fell below 2 (14.30 → 1.95): the layer may be over-trained."]);
  });

  it("batch 32 → 1024 at least warns, naming fc1", () => {
    const c = compareReports(get("mlp_batchsize/bs0032"), get("mlp_batchsize/bs1024"));
    expect(["warn", "fail"]).toContain(c.verdict);
    expect([...named(c, "fail"), ...named(c, "warn")]).toContain("fc1");
    expect(c.layers[0]!.alpha_z).toBeCloseTo(3.7425, 3);
    expect(c.verdict).toBe("fail");
    expect(named(c, "fail")).toEqual(["fc1"]);
    expect(named(c, "warn")).toEqual(["fc2"]);
  });

  it("a model against itself passes with every delta exactly zero", async () => {
    const again = await analyzeFile("models", "series", "mlp_batchsize/bs0032.safetensors");
    const c = compareReports(get("mlp_batchsize/bs0032"), again);
    expect(c.verdict).toBe("pass");
    expect(c.findings).toEqual([]);
    for (const layer of c.layers) {
      for (const metric of DELTA_METRICS) {
        if (metric === "rand_num_spikes") expect(layer.changes[metric].delta).toBeNull(); // randomize not run
        else expect(layer.changes[metric].delta).toBe(0);
      }
    }
  });
});

describe.skipIf(!hasShared)("compare across containers: stories260K safetensors ↔ GGUF", () => {
  let hf: Report;
  beforeAll(async () => {
    hf = await analyzeFile("models", "real", "llama2c-stories260K", "stories260K.safetensors");
  });

  it("matches every weight matrix of the F32 GGUF, alpha deltas below 1e-9", async () => {
    const gguf = await analyzeFile("models", "real", "llama2c-stories260K", "stories260K.F32.gguf");
    const c = compareReports(hf, gguf);
    expect(c.added).toEqual([]);
    expect(c.removed).toEqual([]);
    expect(c.layers.length).toBe(hf.layers.length);
    expect(c.layers.length).toBeGreaterThanOrEqual(36); // 5 blocks × 7 matrices + embeddings/output
    expect(c.layers.find((l) => l.name === "blk.3.ffn_down")!.base_name).toBe("model.layers.3.mlp.down_proj");
    for (const l of c.layers) {
      expect(["name", "container"]).toContain(l.match);
      if (l.changes.alpha.delta !== null) expect(Math.abs(l.changes.alpha.delta)).toBeLessThan(1e-9);
    }
    expect(c.verdict).toBe("pass");
  });

  it("matches every weight matrix of the Q8_0 GGUF and shows what quantization did", async () => {
    const gguf = await analyzeFile("models", "real", "llama2c-stories260K", "stories260K.Q8_0.gguf");
    const c = compareReports(hf, gguf);
    expect(c.added).toEqual([]);
    expect(c.removed).toEqual([]);
    expect(c.layers.length).toBe(hf.layers.length);
    const deltas = c.layers.map((l) => l.changes.alpha.delta).filter((d): d is number => d !== null);
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.some((d) => d !== 0)).toBe(true); // Q8_0 rounding moves the spectrum a little
    const scale = c.layers.map((l) => Math.abs(l.changes.log_spectral_norm.delta!));
    expect(Math.max(...scale)).toBeLessThan(1e-2);
    expect(Math.max(...scale)).toBeGreaterThan(0);
    expect(c.verdict).toBe("pass");
  });
});
