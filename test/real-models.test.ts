/**
 * Every file under ../shared/models/real is either analyzed or rejected with a clear, typed error
 * that names the file (models other people made, and files that must be rejected).
 */
import { describe, expect, it } from "vitest";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { AlphawatchError } from "../core/errors.js";
import type { Report } from "../core/report.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";
import { analyzeModel } from "./model-analysis.js";

/** Files that are models: analyzed, with at least this many layers. */
const ANALYZED: Record<string, number> = {
  "keras-h5/fer2013_mini_XCEPTION.102-0.66.hdf5": 5,
  "keras-h5/gender_mini_XCEPTION.21-0.95.hdf5": 5,
  "llama2c-stories260K/stories260K.F32.gguf": 30,
  "llama2c-stories260K/stories260K.Q8_0.gguf": 30,
  "llama2c-stories260K/stories260K.safetensors": 30,
  "pytorch-stories260K/pytorch_model.bin": 30,
  "pytorch-stories260K/stories260K_legacy.pt": 30,
  "onnx-silero-vad/silero_vad_legacy.onnx": 5,
  "onnx-silero-vad/silero_vad_op18_ifless.onnx": 5,
  "onnx-silero-vad/silero_vad_v5.onnx": 5,
  "tfjs-layers-nsfwjs-mobilenet_v2/model.json": 10,
  "tfjs-graph-human/blazeface.json": 5,
  "tfjs-graph-human/facemesh.json": 5,
  "tfjs-manifest-faceapi/age_gender_model-weights_manifest.json": 5,
  "tfjs-manifest-faceapi/face_landmark_68_tiny_model-weights_manifest.json": 5,
};

/** Files that are not models (or not on their own): rejected with a message matching this. */
const REJECTED: Record<string, RegExp> = {
  "not-a-model/empty.safetensors": /empty|short|too small|header/i,
  "not-a-model/measurements.h5": /not a Keras model/,
  "not-a-model/model.onnx": /HTML/,
  "not-a-model/model.safetensors": /./,
  "not-a-model/notorch.pt": /./,
  "not-a-model/pytorch_model.bin": /./,
  "not-a-model/truncated.safetensors": /trunc|past the end/i,
  "llama2c-stories260K/stories260K.bin": /not a model file/,
  "tfjs-graph-human/blazeface.bin": /not a model file/,
  "tfjs-graph-human/facemesh.bin": /not a model file/,
  "tfjs-layers-nsfwjs-mobilenet_v2/group1-shard1of1": /not a model file/,
  "tfjs-manifest-faceapi/age_gender_model.bin": /not a model file/,
  "tfjs-manifest-faceapi/face_landmark_68_tiny_model.bin": /not a model file/,
};

const DOCUMENTATION = /(^|\/)(LICENSE[^/]*|README\.md|[A-Z0-9]+\.md|SHA256SUMS|manifest\.json|gguf_expected\.json|config\.json)$/;

function modelFiles(): string[] {
  const root = sharedPath("models", "real");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(path.relative(root, full));
    }
  };
  walk(root);
  return files.filter((file) => !DOCUMENTATION.test(file)).sort();
}

describe.skipIf(!hasShared)("models other people made", () => {
  requireShared("real-model tests");
  const files = hasShared ? modelFiles() : [];

  it("lists every file of models/real in one of the expectations", () => {
    const unlisted = files.filter((file) => !(file in ANALYZED) && !(file in REJECTED) && !file.startsWith("safetensors-spec-samples/"));
    expect(unlisted).toEqual([]);
  });

  for (const file of files) {
    const full = sharedPath("models", "real", file);
    if (file in ANALYZED) {
      it(`analyzes ${file}`, async () => {
        const report = await analyzeModel(full);
        expect(report.layers.length).toBeGreaterThanOrEqual(ANALYZED[file]!);
        for (const layer of report.layers) {
          expect(Number.isFinite(layer.lambda_max)).toBe(true);
          expect(layer.num_evals).toBe(layer.M * (layer.slice_id === undefined ? layer.rf : 1));
        }
        for (const skip of report.skipped) expect(skip.reason.length).toBeGreaterThan(5);
      });
    } else if (file in REJECTED) {
      it(`rejects ${file}`, async () => {
        const error = await analyzeModel(full).then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(AlphawatchError);
        const message = (error as Error).message;
        expect(message).toContain(path.basename(file));
        expect(message).toMatch(REJECTED[file]!);
      });
    } else {
      // safetensors spec samples: the valid ones are read (their tiny tensors are skipped with a
      // reason), the invalid ones are rejected with a FormatError naming the file.
      it(`reads or rejects ${file}`, async () => {
        const outcome: Report | unknown = await analyzeModel(full).then((report) => report, (e: unknown) => e);
        if (outcome instanceof Error) {
          expect(outcome).toBeInstanceOf(AlphawatchError);
          expect(outcome.message).toContain(path.basename(file));
        } else {
          expect((outcome as Report).source.format).toBe("safetensors");
        }
      });
    }
  }
});
