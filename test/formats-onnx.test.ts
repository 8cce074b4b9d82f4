import { describe, expect, it } from "vitest";
import { readOnnx, looksLikeOnnx, MAX_GRAPH_DEPTH } from "../core/formats/onnx.js";
import { openTensorIndex } from "../core/formats/open.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { bytesSource } from "../core/formats/byte-source.js";
import { FormatError, SourceError, UnsupportedError } from "../core/errors.js";
import type { TensorIndex, TensorInfo } from "../core/formats/tensor.js";
import { elementCount } from "../core/formats/tensor.js";
import { folderSource } from "./folder-source.js";
import { encodeMessage, float32Bytes, packedVarints, type ProtoTestField } from "./formats-2-sources.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";
import { readFileSync } from "node:fs";

async function all(tensor: TensorInfo): Promise<Float64Array> {
  return tensor.read(0, elementCount(tensor.shape));
}

function byName(index: TensorIndex, name: string): TensorInfo {
  const tensor = index.tensors.find((t) => t.name === name);
  if (tensor === undefined) throw new Error(`no tensor ${name} in ${index.tensors.map((t) => t.name).join(", ")}`);
  return tensor;
}

async function safetensors(file: string): Promise<TensorIndex> {
  return readSafetensors(bytesSource(new Uint8Array(readFileSync(sharedPath("models/series/formats", file))), file));
}

requireShared("ONNX reader tests on shared models");

describe.skipIf(!hasShared)("ONNX: the series MLP and CNN", () => {
  for (const [file, reference] of [
    ["mlp.onnx", "mlp.safetensors"],
    ["cnn.onnx", "cnn.safetensors"],
    ["onnx-external/mlp.onnx", "mlp.safetensors"],
  ] as const) {
    it(`${file} holds the same layers and values as ${reference}`, async () => {
      const source = folderSource(sharedPath("models/series/formats", file));
      const index = await openTensorIndex(source);
      const expected = await safetensors(reference);
      expect(index.format).toBe("onnx");
      expect(index.tensors.map((t) => t.name)).toEqual(expected.tensors.map((t) => t.name));
      for (const want of expected.tensors) {
        const got = byName(index, want.name);
        expect(got.shape).toEqual(want.shape);
        expect(got.dtype).toBe("FLOAT");
        expect(Array.from(await all(got))).toEqual(Array.from(await all(want)));
      }
      // Shape-computation constants of the exported graph are listed as skipped, with the reason.
      expect(index.skipped.length).toBeGreaterThan(0);
      expect(index.skipped.every((s) => s.reason === "data type INT64 is not a floating-point type")).toBe(true);
    });
  }

  it("reads weights that live only in a Loop body, transposing the MatMul [in, out] weights", async () => {
    const index = await readOnnx(folderSource(sharedPath("models/series/formats/onnx-loop/mlp_tail_loop.onnx")));
    const mlp = await safetensors("mlp.safetensors");
    expect(index.tensors.map((t) => `${t.name} ${JSON.stringify(t.shape)}`)).toEqual([
      "fc2.weight_T [100,300]", "fc2.bias [100]", "fc3.weight_T [10,100]", "fc3.bias [10]",
    ]);
    for (const [name, reference] of [["fc2.weight_T", "fc2.weight"], ["fc3.weight_T", "fc3.weight"], ["fc2.bias", "fc2.bias"]]) {
      expect(Array.from(await all(byName(index, name!)))).toEqual(Array.from(await all(byName(mlp, reference!))));
    }
    // Row ranges of a transposed tensor: row 7 of fc2.weight.
    const row = await byName(index, "fc2.weight_T").read(7 * 300, 300);
    expect(Array.from(row)).toEqual(Array.from(await byName(mlp, "fc2.weight").read(7 * 300, 300)));
    // trip_count (INT64) and keep_going (BOOL) are not weights.
    expect(index.skipped.map((s) => s.reason).sort()).toEqual([
      "data type BOOL is not a floating-point type",
      "data type INT64 is not a floating-point type",
    ]);
  });

  it("reads Constant node tensors next to initializers", async () => {
    const index = await readOnnx(folderSource(sharedPath("models/series/formats/onnx-loop/mlp_tail_constant.onnx")));
    const mlp = await safetensors("mlp.safetensors");
    expect(index.tensors.map((t) => t.name).sort()).toEqual(["fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"]);
    for (const name of ["fc2.weight", "fc2.bias", "fc3.weight"]) {
      const got = byName(index, name);
      expect(got.shape).toEqual(byName(mlp, name).shape);
      expect(Array.from(await all(got))).toEqual(Array.from(await all(byName(mlp, name))));
    }
  });
});

describe.skipIf(!hasShared)("ONNX: real models", () => {
  const silero = (file: string) => readOnnx(folderSource(sharedPath("models/real/onnx-silero-vad", file)));

  it("Silero v4 (legacy): 259 tensors incl. LSTM weights two If levels deep", async () => {
    const index = await silero("silero_vad_legacy.onnx");
    expect(index.tensors.length + index.skipped.length).toBe(259);
    expect(index.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(60);
    expect(index.metadata).toMatchObject({ ir_version: "8", producer_name: "pytorch", producer_version: "1.12.0" });
    const conv = byName(index, "model.first_layer.0.dw_conv.0.weight");
    expect(conv.shape).toEqual([258, 1, 5]);
  });

  it("Silero v5: weights only in Constant nodes inside If branches", async () => {
    const index = await silero("silero_vad_v5.onnx");
    expect(index.tensors.length + index.skipped.length).toBe(341);
    expect(index.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(16);
    expect(index.metadata.producer_name).toBe("spox");
  });

  // Expected values below come from the onnx Python package (numpy_helper.to_array), an
  // independent reader.
  it("Silero op18 (IR 10): plain initializers, values as the onnx package reads them", async () => {
    const op18 = await silero("silero_vad_op18_ifless.onnx");
    expect(op18.tensors.length + op18.skipped.length).toBe(45);
    expect(op18.tensors.filter((t) => t.shape.length >= 2)).toHaveLength(16);
    expect(op18.metadata.ir_version).toBe("10");
    const encoder = byName(op18, "model_8k.encoder.0.reparam_conv.weight");
    expect(encoder.shape).toEqual([128, 65, 3]);
    expect(Array.from(await encoder.read(0, 2))).toEqual([0.03121892362833023, 0.02895774506032467]);
    expect((await encoder.read(1000, 1))[0]).toBe(-0.29167330265045166);
    const rnn = byName(op18, "model.decoder.rnn.weight_ih");
    expect(rnn.shape).toEqual([512, 128]);
    expect((await rnn.read(12345, 1))[0]).toBe(-0.09610658138990402);
  });

  it("Silero values inside If branches match the onnx package", async () => {
    const v5 = await silero("silero_vad_v5.onnx");
    const encoder = byName(v5, "If_0_else_branch__Inline_0__encoder.0.reparam_conv.weight");
    expect(Array.from(await encoder.read(0, 2))).toEqual([-0.1885887086391449, -0.19099755585193634]);
    expect((await encoder.read(1000, 1))[0]).toBe(-0.8451548218727112);
    const legacy = await silero("silero_vad_legacy.onnx");
    const conv = byName(legacy, "model.first_layer.0.dw_conv.0.weight");
    expect([(await conv.read(0, 1))[0], (await conv.read(777, 1))[0]]).toEqual([-0.2788598835468292, 0.03965623304247856]);
  });

  it("an HTML page saved as model.onnx is not detected and is rejected as an HTML page", async () => {
    const source = folderSource(sharedPath("models/real/not-a-model/model.onnx"));
    const head = await source.read(0, 1536);
    expect(looksLikeOnnx(head, 1536)).toBe(false);
    await expect(openTensorIndex(source)).rejects.toThrow(/model\.onnx: .*HTML page/);
    await expect(readOnnx(source)).rejects.toThrow(FormatError);
    await expect(readOnnx(source)).rejects.toThrow(/model\.onnx: invalid ONNX file: it is an HTML page/);
  });
});

// Synthetic models: one small graph per rule.
const tensorProto = (name: string, dims: number[], extra: ProtoTestField[], dataType = 1): ProtoTestField[] => [
  { n: 1, bytes: packedVarints(dims) },
  { n: 2, varint: dataType },
  { n: 8, text: name },
  ...extra,
];
const raw = (values: number[]): ProtoTestField => ({ n: 9, bytes: float32Bytes(values) });
const node = (op: string, inputs: string[], outputs: string[], attributes: ProtoTestField[][] = []): ProtoTestField[] => [
  ...inputs.map((text) => ({ n: 1, text })),
  ...outputs.map((text) => ({ n: 2, text })),
  { n: 4, text: op },
  ...attributes.map((message) => ({ n: 5, message })),
];
const intAttribute = (name: string, value: number): ProtoTestField[] => [{ n: 1, text: name }, { n: 3, varint: value }, { n: 20, varint: 2 }];
const model = (graph: ProtoTestField[]): Uint8Array =>
  encodeMessage([{ n: 1, varint: 8 }, { n: 2, text: "test" }, { n: 7, message: graph }]);
const open = (bytes: Uint8Array, siblings?: Map<string, Uint8Array>) => readOnnx(bytesSource(bytes, "t.onnx", siblings));

describe("ONNX: orientation, roles and storage variants", () => {
  const w = [1, 2, 3, 4, 5, 6]; // stored [3, 2] = [in, out]

  it("MatMul input B and Gemm transB=0 are [in, out]: presented transposed", async () => {
    for (const consumer of [node("MatMul", ["x", "W"], ["y"]), node("Gemm", ["x", "W"], ["y"], [intAttribute("transB", 0)])]) {
      const index = await open(model([{ n: 1, message: consumer }, { n: 5, message: tensorProto("W", [3, 2], [raw(w)]) }]));
      const t = byName(index, "W");
      expect(t.shape).toEqual([2, 3]);
      expect(Array.from(await all(t))).toEqual([1, 3, 5, 2, 4, 6]);
      expect(Array.from(await t.read(4, 2))).toEqual([4, 6]);
    }
  });

  it("Gemm transB=1 and a Transpose before MatMul keep the stored [out, in]", async () => {
    const graphs = [
      [{ n: 1, message: node("Gemm", ["x", "W"], ["y"], [intAttribute("transB", 1)]) }],
      [{ n: 1, message: node("Transpose", ["W"], ["Wt"]) }, { n: 1, message: node("MatMul", ["x", "Wt"], ["y"]) }],
    ];
    for (const graph of graphs) {
      const index = await open(model([...graph, { n: 5, message: tensorProto("W", [3, 2], [raw(w)]) }]));
      expect(byName(index, "W").shape).toEqual([3, 2]);
      expect(Array.from(await all(byName(index, "W")))).toEqual(w);
    }
  });

  it("a Gather data input is an embedding, stored [vocab, dim]", async () => {
    const index = await open(model([
      { n: 1, message: node("Gather", ["E", "ids"], ["y"]) },
      { n: 5, message: tensorProto("E", [3, 2], [raw(w)]) },
    ]));
    expect(byName(index, "E")).toMatchObject({ shape: [3, 2], role: "embedding" });
  });

  it("reads float_data, double_data, FLOAT16 and BFLOAT16 int32_data; skips INT64 with a reason", async () => {
    const doubles = new Uint8Array(16);
    new DataView(doubles.buffer).setFloat64(0, 0.1, true);
    new DataView(doubles.buffer).setFloat64(8, -2.5, true);
    const index = await open(model([
      { n: 5, message: tensorProto("f", [2], [{ n: 4, bytes: float32Bytes([1.5, -2]) }]) },
      { n: 5, message: tensorProto("d", [2], [{ n: 10, bytes: doubles }], 11) },
      // 0x3c00 = 1.0, 0xc000 = -2.0 (half); 0x3f80 = 1.0, 0x4049 = 3.140625 (bfloat16).
      { n: 5, message: tensorProto("h", [2], [{ n: 5, bytes: packedVarints([0x3c00, 0xc000]) }], 10) },
      { n: 5, message: tensorProto("b", [2], [{ n: 5, bytes: packedVarints([0x3f80, 0x4049]) }], 16) },
      { n: 5, message: tensorProto("i", [1], [{ n: 7, bytes: packedVarints([5]) }], 7) },
    ]));
    expect(Array.from(await all(byName(index, "f")))).toEqual([1.5, -2]);
    expect(Array.from(await all(byName(index, "d")))).toEqual([0.1, -2.5]);
    expect(Array.from(await all(byName(index, "h")))).toEqual([1, -2]);
    expect(Array.from(await all(byName(index, "b")))).toEqual([1, 3.140625]);
    expect(index.tensors.map((t) => t.dtype)).toEqual(["FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16"]);
    expect(index.skipped).toEqual([{ name: "i", reason: "data type INT64 is not a floating-point type" }]);
  });

  it("finds initializers and Constant values in nested sub-graphs, named as the model names them", async () => {
    const body: ProtoTestField[] = [
      { n: 1, message: node("Constant", [], ["c_out"], [[{ n: 1, text: "value" }, { n: 5, message: tensorProto("", [2, 2], [raw([1, 2, 3, 4])]) }, { n: 20, varint: 4 }]]) },
      { n: 5, message: tensorProto("inner", [2], [raw([7, 8])]) },
    ];
    const ifNode = node("If", ["cond"], ["y"], [[{ n: 1, text: "then_branch" }, { n: 6, message: body }, { n: 20, varint: 5 }]]);
    const index = await open(model([{ n: 1, message: ifNode }]));
    expect(index.tensors.map((t) => t.name)).toEqual(["c_out", "inner"]);
    expect(Array.from(await all(byName(index, "c_out")))).toEqual([1, 2, 3, 4]);
  });

  it("refuses sub-graphs nested deeper than the limit", async () => {
    let graph: ProtoTestField[] = [{ n: 5, message: tensorProto("w", [1], [raw([1])]) }];
    for (let level = 0; level < MAX_GRAPH_DEPTH + 2; level++) {
      graph = [{ n: 1, message: node("Loop", [], [], [[{ n: 1, text: "body" }, { n: 6, message: graph }]]) }];
    }
    await expect(open(model(graph))).rejects.toThrow(`t.onnx: invalid ONNX file: graphs nested more than ${MAX_GRAPH_DEPTH} levels deep`);
  });

  it("external data: read through the sibling, refusing paths that leave the folder", async () => {
    const external = (location: string, offset = "4"): ProtoTestField[] => [
      { n: 13, message: [{ n: 1, text: "location" }, { n: 2, text: location }] },
      { n: 13, message: [{ n: 1, text: "offset" }, { n: 2, text: offset }] },
      { n: 14, varint: 1 },
    ];
    const data = float32Bytes([0, 1.25, -3]);
    const ok = await open(model([{ n: 5, message: tensorProto("w", [2], external("w.bin")) }]), new Map([["w.bin", data]]));
    expect(Array.from(await all(byName(ok, "w")))).toEqual([1.25, -3]);
    await expect(open(model([{ n: 5, message: tensorProto("w", [2], external("../w.bin")) }]))).rejects.toThrow(UnsupportedError);
    await expect(open(model([{ n: 5, message: tensorProto("w", [2], external("/etc/w.bin")) }]))).rejects.toThrow(/only paths inside the model's folder/);
    await expect(open(model([{ n: 5, message: tensorProto("w", [2], external("missing.bin")) }]))).rejects.toThrow(SourceError);
    await expect(open(model([{ n: 5, message: tensorProto("w", [2], external("w.bin", "8")) }]), new Map([["w.bin", data]])))
      .rejects.toThrow('t.onnx: invalid ONNX file: tensor "w" (initializer of graph) external data 8..16 runs past the end of "w.bin" (12 bytes)');
  });

  it("rejects raw_data whose size disagrees with the shape, and truncated files", async () => {
    await expect(open(model([{ n: 5, message: tensorProto("w", [3, 2], [raw([1, 2])]) }])))
      .rejects.toThrow('t.onnx: invalid ONNX file: tensor "w" (initializer of graph) [3,2] needs 24 bytes of raw_data, has 8');
    const bytes = model([{ n: 5, message: tensorProto("w", [2], [raw([1, 2])]) }]);
    await expect(open(bytes.subarray(0, bytes.length - 3))).rejects.toThrow(/invalid ONNX file: field 7: length \d+ runs past the end of its message/);
  });
});
