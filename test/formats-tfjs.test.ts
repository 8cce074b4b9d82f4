import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { readTfjs, looksLikeTfjs } from "../core/formats/tfjs.js";
import { openTensorIndex } from "../core/formats/open.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { halfToFloat } from "../core/formats/dtype.js";
import { FormatError, SourceError, UnsupportedError } from "../core/errors.js";
import { elementCount, type TensorIndex, type TensorInfo } from "../core/formats/tensor.js";
import { folderSource } from "./folder-source.js";
import { float32Bytes } from "./formats-2-sources.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

const byName = (index: TensorIndex, name: string): TensorInfo => {
  const tensor = index.tensors.find((t) => t.name === name);
  if (tensor === undefined) throw new Error(`no tensor ${name} in ${index.tensors.map((t) => t.name).join(", ")}`);
  return tensor;
};
const all = (t: TensorInfo) => t.read(0, elementCount(t.shape));
const shard = (...parts: string[]) => {
  const bytes = new Uint8Array(readFileSync(sharedPath(...parts)));
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

requireShared("TF.js reader tests on shared models");

describe.skipIf(!hasShared)("TF.js: the series MLP, uint16-quantized", () => {
  it("gives the safetensors layers ([out, in], `<layer>.weight`) within half a quantization step", async () => {
    const index = await openTensorIndex(folderSource(sharedPath("models/series/formats/tfjs-uint16/model.json")));
    const reference = await readSafetensors(bytesSource(new Uint8Array(readFileSync(sharedPath("models/series/formats/mlp.safetensors")))));
    const manifest = JSON.parse(readFileSync(sharedPath("models/series/formats/tfjs-uint16/model.json"), "utf8")) as {
      weightsManifest: { weights: { name: string; quantization: { scale: number } }[] }[];
    };
    expect(index.format).toBe("tfjs");
    expect(index.metadata.model_kind).toBe("layers");
    expect(index.tensors.map((t) => t.name)).toEqual(reference.tensors.map((t) => t.name));
    for (const spec of manifest.weightsManifest[0]!.weights) {
      const name = spec.name.replace("/kernel", ".weight").replace("/bias", ".bias");
      const got = byName(index, name);
      const want = byName(reference, name);
      expect(got.shape).toEqual(want.shape);
      const [a, b] = [await all(got), await all(want)];
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst).toBeLessThanOrEqual(spec.quantization.scale / 2 + 1e-7);
      expect(worst).toBeGreaterThan(0);
    }
    // Offsets are the running sum of stored sizes (2 bytes each): fc3.bias is the last weight.
    const view = shard("models/series/formats/tfjs-uint16/group1-shard1of1.bin");
    const q = view.getUint16(2 * (784 * 300 + 300 + 300 * 100 + 100 + 100 * 10), true);
    const fc3bias = manifest.weightsManifest[0]!.weights[5]!.quantization as unknown as { scale: number; min: number };
    expect((await byName(index, "fc3.bias").read(0, 1))[0]).toBe(Math.fround(q * fc3bias.scale + fc3bias.min));
  });
});

describe.skipIf(!hasShared)("TF.js: real models", () => {
  const real = (...parts: string[]) => readTfjs(folderSource(sharedPath("models/real", ...parts)));

  it("nsfwjs MobileNetV2 layers model: uint8 weights, Conv2D / DepthwiseConv2D / Dense orientation", async () => {
    const index = await real("tfjs-layers-nsfwjs-mobilenet_v2", "model.json");
    expect(index.tensors).toHaveLength(266);
    expect(index.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(55);
    expect(byName(index, "Conv1.weight").shape).toEqual([32, 3, 3, 3]);
    expect(byName(index, "block_10_depthwise.weight").shape).toEqual([384, 1, 3, 3]);
    expect(byName(index, "bn_Conv1.weight").shape).toEqual([32]);
    const dense = index.tensors.filter((t) => /^dense_\d\.weight$/.test(t.name));
    expect(dense).toHaveLength(3);
    for (const t of dense) expect(t.shape.length).toBe(2);
    // Conv1/kernel is the first weight: element [0,0,0,0] is shard byte 0, dequantized.
    const model = JSON.parse(readFileSync(sharedPath("models/real/tfjs-layers-nsfwjs-mobilenet_v2/model.json"), "utf8"));
    const { scale, min } = model.weightsManifest[0].weights[0].quantization;
    const q = shard("models/real/tfjs-layers-nsfwjs-mobilenet_v2/group1-shard1of1").getUint8(0);
    expect((await byName(index, "Conv1.weight").read(0, 1))[0]).toBe(Math.fround(q * scale + min));
  });

  it("BlazeFace graph model: float32 + int32, kernels found through _FusedConv2D / DepthwiseConv2dNative", async () => {
    const index = await real("tfjs-graph-human", "blazeface.json");
    expect(index.metadata.model_kind).toBe("graph");
    expect(index.tensors).toHaveLength(106);
    expect(index.skipped).toHaveLength(6);
    expect(index.skipped.every((s) => s.reason === "dtype int32 is not a floating-point type")).toBe(true);
    const conv = byName(index, "unknown_135.weight");
    expect(conv.shape).toEqual([2, 96, 1, 1]);
    expect((await conv.read(0, 1))[0]).toBe(shard("models/real/tfjs-graph-human/blazeface.bin").getFloat32(0, true));
    expect(index.tensors.filter((t) => t.shape[1] === 1 && t.shape.length === 4 && t.name.endsWith(".weight")).length).toBeGreaterThan(0);
  });

  it("FaceMesh graph model: float16-quantized values are IEEE halves", async () => {
    const index = await real("tfjs-graph-human", "facemesh.json");
    expect(index.tensors.length + index.skipped.length).toBe(120);
    const first = byName(index, "StatefulPartitionedCall/model_1/p_re_lu_25/Neg");
    expect(first.dtype).toBe("float16->float32");
    const view = shard("models/real/tfjs-graph-human/facemesh.bin");
    expect(Array.from(await first.read(0, 2))).toEqual([halfToFloat(view.getUint16(0, true)), halfToFloat(view.getUint16(2, true))]);
    expect(byName(index, "StatefulPartitionedCall/model_1/depthwise_conv2d_19/depthwise/ReadVariableOp.weight").shape).toEqual([128, 1, 3, 3]);
  });

  it("face-api manifests without topology: Keras-like names, mixed stored sizes", async () => {
    const landmarks = await openTensorIndex(folderSource(sharedPath("models/real/tfjs-manifest-faceapi/face_landmark_68_tiny_model-weights_manifest.json")));
    expect(landmarks.format).toBe("tfjs");
    expect(landmarks.tensors).toHaveLength(28);
    expect(landmarks.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(18);
    expect(byName(landmarks, "dense0/conv1.pointwise.weight").shape).toEqual([32, 32, 1, 1]);
    const ageGender = await real("tfjs-manifest-faceapi", "age_gender_model-weights_manifest.json");
    expect(ageGender.tensors).toHaveLength(51);
    // conv_in/filters (864 uint8) then conv_in/bias (32 float32) then a uint8 depthwise filter.
    const view = shard("models/real/tfjs-manifest-faceapi/age_gender_model.bin");
    expect((await byName(ageGender, "entry_flow/conv_in.bias").read(0, 1))[0]).toBe(view.getFloat32(864, true));
    const manifest = JSON.parse(readFileSync(sharedPath("models/real/tfjs-manifest-faceapi/age_gender_model-weights_manifest.json"), "utf8"));
    const { scale, min } = manifest[0].weights[2].quantization;
    const depthwise = byName(ageGender, "entry_flow/reduction_block_0/separable_conv0.depthwise.weight");
    expect((await depthwise.read(0, 1))[0]).toBe(Math.fround(view.getUint8(864 + 128) * scale + min));
  });

  it("a safetensors shard index (JSON) is not taken for TF.js", async () => {
    const source = folderSource(sharedPath("models/series/formats/cnn-sharded/model.safetensors.index.json"));
    const size = await source.size();
    expect(await looksLikeTfjs(await source.read(0, Math.min(size, 4096)), size, source)).toBe(false);
  });
});

describe("TF.js: synthetic models", () => {
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const open = (model: unknown, files: [string, Uint8Array][] = []) =>
    readTfjs(bytesSource(json(model), "model.json", new Map(files)));
  const layers = (layerList: unknown[], weights: unknown[], paths = ["w.bin"]) => ({
    modelTopology: { class_name: "Sequential", config: { name: "m", layers: layerList } },
    weightsManifest: [{ paths, weights }],
  });

  it("Embedding tables keep [vocab, dim] and carry the embedding role; Dense kernels are transposed", async () => {
    const index = await open(
      layers(
        [{ class_name: "Embedding", config: { name: "emb" } }, { class_name: "Dense", config: { name: "fc" } }],
        [{ name: "emb/embeddings", shape: [3, 2], dtype: "float32" }, { name: "fc/kernel", shape: [2, 3], dtype: "float32" }],
      ),
      [["w.bin", float32Bytes([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])]],
    );
    expect(byName(index, "emb.weight")).toMatchObject({ shape: [3, 2], role: "embedding" });
    expect(Array.from(await all(byName(index, "fc.weight")))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("graph MatMul with transpose_b keeps [out, in]; without it, [in, out] is transposed; GatherV2 → embedding", async () => {
    const node = (name: string, op: string, input: string[] = [], attr: unknown = {}) => ({ name, op, input, attr });
    const model = {
      format: "graph-model",
      modelTopology: { node: [
        node("a", "Const"), node("b", "Const"), node("e", "Const"),
        node("m1", "MatMul", ["x", "a"], { transpose_b: { b: true } }),
        node("m2", "MatMul", ["x", "b:0"]),
        node("g", "GatherV2", ["e", "ids", "axis"]),
      ] },
      weightsManifest: [{ paths: ["w.bin"], weights: ["a", "b", "e"].map((name) => ({ name, shape: [2, 3], dtype: "float32" })) }],
    };
    const index = await open(model, [["w.bin", float32Bytes([...Array(18).keys()])]]);
    expect(byName(index, "a.weight").shape).toEqual([2, 3]);
    expect(byName(index, "b.weight").shape).toEqual([3, 2]);
    expect(Array.from(await all(byName(index, "b.weight")))).toEqual([6, 9, 7, 10, 8, 11]);
    expect(byName(index, "e.weight")).toMatchObject({ shape: [2, 3], role: "embedding" });
  });

  it("rejects shard paths leaving the folder, missing shards, short shards and unsized dtypes", async () => {
    const one = [{ name: "fc/kernel", shape: [2, 3], dtype: "float32" }];
    await expect(open(layers([], one, ["../w.bin"]))).rejects.toThrow(UnsupportedError);
    await expect(open(layers([], one))).rejects.toThrow(SourceError);
    await expect(open(layers([], one), [["w.bin", new Uint8Array(20)]])).rejects.toThrow(
      'model.json: invalid TF.js model: weight "fc/kernel" needs bytes 0..24 of its group, the shards ["w.bin"] hold 20',
    );
    await expect(open(layers([], [{ name: "s", shape: [1], dtype: "string" }, ...one]), [["w.bin", new Uint8Array(24)]]))
      .rejects.toThrow('model.json: TF.js weight "s" has dtype "string", whose stored size is unknown');
    await expect(open({ weightsManifest: [{ paths: ["w.bin"], weights: [{ name: "x", shape: [-1], dtype: "float32" }] }] }))
      .rejects.toThrow(FormatError);
  });
});
