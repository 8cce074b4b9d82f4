/**
 * The same trained MLP and CNN in every container give the same layers and the same metrics, to
 * the precision of the container's dtype (issue: read every checkpoint people ship).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../core/report.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";
import { analyzeModel } from "./model-analysis.js";

/** Relative alpha tolerance per container precision: float32 containers hold the same values. */
const F32 = 1e-12;
const F16 = 1e-3;
const BF16 = 1e-2;
const UINT16 = 1e-5;

const CONTAINERS: Record<"mlp" | "cnn", Array<[string, number]>> = {
  mlp: [
    ["mlp.pt", F32], ["mlp.legacy.pt", F32], ["mlp", F32], ["mlp-sharded-bin", F32], ["mlp.npz", F32],
    ["mlp.compressed.npz", F32], ["mlp.onnx", F32], ["onnx-external", F32], ["mlp.gguf", F32], ["npy", F32],
    ["mlp.f16.safetensors", F16], ["mlp.bf16.safetensors", BF16], ["tfjs-uint16", UINT16],
  ],
  cnn: [
    ["cnn.pt", F32], ["cnn.legacy.pt", F32], ["cnn", F32], ["cnn-sharded", F32], ["cnn.npz", F32],
    ["cnn.compressed.npz", F32], ["cnn.onnx", F32], ["cnn.gguf", F32],
    ["cnn.f16.safetensors", F16], ["cnn.bf16.safetensors", BF16],
  ],
};

function relative(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe.skipIf(!hasShared)("the same model in every container", () => {
  requireShared("container equivalence tests");
  const reference: Partial<Record<"mlp" | "cnn", Report>> = {};
  beforeAll(async () => {
    reference.mlp = await analyzeModel(sharedPath("models", "series", "formats", "mlp.safetensors"));
    reference.cnn = await analyzeModel(sharedPath("models", "series", "formats", "cnn.safetensors"));
  });

  for (const model of ["mlp", "cnn"] as const) {
    for (const [container, tolerance] of CONTAINERS[model]) {
      it(`${container} matches ${model}.safetensors`, async () => {
        const base = reference[model]!;
        const report = await analyzeModel(sharedPath("models", "series", "formats", container));
        expect(report.layers.map((l) => [l.name, l.layer_type, l.N, l.M, l.num_evals])).toEqual(
          base.layers.map((l) => [l.name, l.layer_type, l.N, l.M, l.num_evals]),
        );
        report.layers.forEach((layer, i) => {
          const expected = base.layers[i]!;
          expect(layer.status).toBe("success");
          expect(relative(layer.alpha!, expected.alpha!)).toBeLessThanOrEqual(tolerance);
          expect(relative(layer.lambda_max, expected.lambda_max)).toBeLessThanOrEqual(tolerance);
          expect(relative(layer.norm, expected.norm)).toBeLessThanOrEqual(tolerance);
          if (tolerance === F32) {
            expect(layer.num_pl_spikes).toBe(expected.num_pl_spikes);
            expect(layer.D).toBe(expected.D);
          }
        });
        expect(report.skipped.map((s) => s.name).filter((n) => n.endsWith("bias")).length).toBe(base.layers.length);
      });
    }
  }
});
