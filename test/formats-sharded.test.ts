import { describe, expect, it } from "vitest";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { FormatError, SourceError } from "../core/errors.js";
import { openTensorIndex } from "../core/formats/open.js";
import { readSafetensors } from "../core/formats/safetensors.js";
import { readShardedIndex } from "../core/formats/sharded.js";
import { isDirectoryOfArrays, pickModelEntry } from "../core/formats/directory.js";
import { describeIndex, fileBytes, maxAbsDiff, readAll } from "./formats-1-sources.js";
import { requireShared, sharedPath } from "./shared.js";

const enc = new TextEncoder();

function safetensorsFile(tensors: Record<string, number[]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata === undefined ? {} : { __metadata__: metadata };
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, values] of Object.entries(tensors)) {
    header[name] = { dtype: "F32", shape: [values.length], data_offsets: [offset, offset + values.length * 4] };
    offset += values.length * 4;
    chunks.push(new Uint8Array(new Float32Array(values).buffer));
  }
  const json = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}

function indexSource(weightMap: Record<string, string>, files: Record<string, Uint8Array>, metadata: object = { total_size: 24 }): ByteSource {
  const index = enc.encode(JSON.stringify({ metadata, weight_map: weightMap }));
  return bytesSource(index, "model.safetensors.index.json", new Map(Object.entries(files)));
}

describe("shard indexes built in memory", () => {
  const first = safetensorsFile({ "b.weight": [3, 4], "a.weight": [1, 2], extra: [9] }, { format: "pt" });
  const second = safetensorsFile({ "c.weight": [5, 6] }, { format: "other", producer: "x" });

  it("orders tensors by shard (first appearance in weight_map), then by each shard's own order", async () => {
    const source = indexSource({ "c.weight": "s2.safetensors", "a.weight": "s1.safetensors", "b.weight": "s1.safetensors" }, { "s1.safetensors": first, "s2.safetensors": second });
    const index = await openTensorIndex(source);
    expect(index.format).toBe("safetensors");
    expect(index.tensors.map((t) => t.name)).toEqual(["c.weight", "b.weight", "a.weight"]);
    expect(Array.from(await readAll(index.tensors[2]!))).toEqual([1, 2]);
    expect(index.metadata).toEqual({ total_size: "24", format: "other", producer: "x" });
    expect(index.skipped).toEqual([{ name: "extra", reason: 'in shard "s1.safetensors" but not listed in the index' }]);
  });

  it.each([
    ["../secret.safetensors", /shard "..\/secret.safetensors" contains "..", which would leave the index's directory/],
    ["sub/../../x.safetensors", /contains ".."/],
    ["/etc/passwd", /shard "\/etc\/passwd" is an absolute path/],
    ["C:\\weights.safetensors", /is an absolute path/],
    ["https://example.com/x.safetensors", /is an absolute path/],
  ])("rejects the shard name %s", async (shard, message) => {
    const attempt = readShardedIndex(indexSource({ "a.weight": shard }, {}));
    await expect(attempt).rejects.toBeInstanceOf(FormatError);
    await expect(attempt).rejects.toThrow(message);
  });

  it("rejects a missing shard, a tensor its shard lacks, and an empty weight_map", async () => {
    await expect(readShardedIndex(indexSource({ "a.weight": "gone.safetensors" }, {})))
      .rejects.toThrow(new SourceError('model.safetensors.index.json: shard "gone.safetensors" named in the index was not found next to it'));
    await expect(readShardedIndex(indexSource({ "z.weight": "s2.safetensors" }, { "s2.safetensors": second })))
      .rejects.toThrow('model.safetensors.index.json: tensor "z.weight" is mapped to shard "s2.safetensors", which does not hold it');
    await expect(readShardedIndex(indexSource({}, {}))).rejects.toThrow(/weight_map is empty/);
    await expect(readShardedIndex(indexSource({ a: 3 as unknown as string }, {}))).rejects.toThrow(/weight_map entry "a" is not a file name/);
  });

  it("does not claim JSON without a weight_map", async () => {
    await expect(openTensorIndex(bytesSource(enc.encode('{"error": "not found"}'), "x.json"))).rejects.toThrow(/it is JSON text, not a model/);
  });
});

describe("pickModelEntry", () => {
  it.each([
    [["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"], "model.safetensors.index.json"],
    [["pytorch_model.bin.index.json", "model.safetensors.index.json"], "model.safetensors.index.json"],
    [["pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json", "config.json"], "pytorch_model.bin.index.json"],
    [["config.json", "pytorch_model.bin", "model.safetensors", "tokenizer.json"], "model.safetensors"],
    [["config.json", "pytorch_model.bin"], "pytorch_model.bin"],
    [["group1-shard1of1.bin", "model.json"], "model.json"],
    [["readme.md", "weights.pt", "other.onnx"], "weights.pt"],
    [["b.safetensors", "a.safetensors"], "a.safetensors"],
    [["model-00001-of-00002.safetensors"], undefined],
    [["fc1.weight.npy", "fc1.bias.npy"], undefined],
    [["readme.md"], undefined],
  ])("%j → %s", (names, expected) => {
    expect(pickModelEntry(names)).toBe(expected);
  });
  it("says when a folder is a folder of arrays", () => {
    expect(isDirectoryOfArrays(["fc1.weight.npy", "notes.txt"])).toBe(true);
    expect(isDirectoryOfArrays(["fc1.weight.npy", "model.safetensors"])).toBe(false);
  });
});

describe.skipIf(!requireShared("sharded checkpoints of the format series"))("sharded checkpoints of the format series", () => {
  const formats = (...parts: string[]): string => sharedPath("models/series/formats", ...parts);
  it.each([
    ["cnn-sharded/model.safetensors.index.json", "cnn.safetensors", "safetensors", "246824"],
    ["mlp-sharded-bin/pytorch_model.bin.index.json", "mlp.safetensors", "pytorch", "1066440"],
  ])("%s equals %s", async (file, single, format, totalSize) => {
    const reference = await readSafetensors(fileBytes(formats(single)));
    const index = await openTensorIndex(fileBytes(formats(file)));
    expect(index.format).toBe(format);
    expect(index.metadata.total_size).toBe(totalSize);
    expect(describeIndex(index)).toEqual(describeIndex(reference));
    for (const [i, tensor] of index.tensors.entries()) {
      expect(maxAbsDiff(await readAll(tensor), await readAll(reference.tensors[i]!))).toBe(0);
    }
  });
});
