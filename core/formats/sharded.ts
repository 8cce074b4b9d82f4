/**
 * Sharded checkpoints: a JSON index (`model.safetensors.index.json`,
 * `pytorch_model.bin.index.json`) whose `weight_map` maps each tensor name to the shard file that
 * holds it. Detected by content (a JSON object with a `weight_map` object), never by file name.
 *
 * Shards are opened next to the index through `source.sibling(name)`; a shard name must be a plain
 * relative path (no `..` segment, not absolute).
 *
 * Order of the tensors (the "model order"): shards in the order in which they first appear among
 * the `weight_map` values; within a shard, the shard file's own order. Only tensors the index
 * lists are presented (a tensor a shard holds but the index does not list is reported in
 * `skipped`); a listed tensor missing from its shard is an error.
 *
 * Metadata: the index's `metadata` values (as strings; `total_size` is a number there), then each
 * shard's own metadata for keys not yet present (the first shard that states a key wins).
 */
import type { ByteSource } from "./byte-source.js";
import { FormatError, SourceError } from "../errors.js";
import type { SkippedTensor, TensorIndex, TensorInfo } from "./tensor.js";
import { looksLikeSafetensors, readSafetensors } from "./safetensors.js";
import { looksLikeTorchLegacy, looksLikeTorchZip, readTorchLegacy, readTorchZip } from "./pytorch.js";
import { strictUtf8 } from "./text.js";

/** An index JSON larger than this is not an index (a 1e5-tensor model has a ~10 MB index). */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;

interface ShardIndex {
  readonly weightMap: ReadonlyMap<string, string>;
  readonly metadata: Readonly<Record<string, string>>;
}

const parsedIndexes = new WeakMap<ByteSource, Promise<ShardIndex | undefined>>();

function firstNonSpace(head: Uint8Array): number | undefined {
  for (const byte of head) if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return byte;
  return undefined;
}

/** The parsed index, or undefined when `source` is not a JSON object with a `weight_map` object. */
function parseIndex(source: ByteSource, fileSize: number): Promise<ShardIndex | undefined> {
  let parsed = parsedIndexes.get(source);
  if (parsed === undefined) {
    parsed = (async () => {
      if (fileSize > MAX_INDEX_BYTES) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(strictUtf8.decode(await source.read(0, fileSize)));
      } catch {
        return undefined;
      }
      if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
      const { weight_map: weightMap, metadata } = json as Record<string, unknown>;
      if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) return undefined;
      const map = new Map<string, string>();
      for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
        if (typeof shard !== "string") {
          throw new FormatError(`${source.name}: invalid shard index: weight_map entry "${tensor}" is not a file name`);
        }
        map.set(tensor, shard);
      }
      const flat: Record<string, string> = {};
      if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) {
        for (const [key, value] of Object.entries(metadata as Record<string, unknown>)) {
          flat[key] = typeof value === "string" ? value : JSON.stringify(value);
        }
      }
      return { weightMap: map, metadata: flat };
    })();
    parsedIndexes.set(source, parsed);
  }
  return parsed;
}

export async function looksLikeShardedIndex(head: Uint8Array, fileSize: number, source: ByteSource): Promise<boolean> {
  if (firstNonSpace(head) !== 0x7b || fileSize > MAX_INDEX_BYTES) return false;
  try {
    return (await parseIndex(source, fileSize)) !== undefined;
  } catch {
    // A JSON object with a malformed weight_map is still an index: let the reader report it.
    return true;
  }
}

/** Rejects shard names that could leave the index's directory. */
export function checkShardName(indexName: string, shard: string): void {
  if (shard === "" || shard.includes("\0")) throw new FormatError(`${indexName}: invalid shard index: empty shard file name`);
  if (/^([\\/]|[a-zA-Z]:)/.test(shard) || /^[a-z][a-z0-9+.-]*:\/\//i.test(shard)) {
    throw new FormatError(`${indexName}: invalid shard index: shard "${shard}" is an absolute path; shards must be next to the index`);
  }
  if (shard.split(/[\\/]/).includes("..")) {
    throw new FormatError(`${indexName}: invalid shard index: shard "${shard}" contains "..", which would leave the index's directory`);
  }
}

async function readShard(shard: ByteSource): Promise<TensorIndex> {
  const size = await shard.size();
  const head = await shard.read(0, Math.min(size, 4096));
  if (looksLikeSafetensors(head, size)) return readSafetensors(shard);
  if (await looksLikeTorchZip(head, size, shard)) return readTorchZip(shard);
  if (looksLikeTorchLegacy(head)) return readTorchLegacy(shard);
  throw new FormatError(`${shard.name}: shard is neither a safetensors file nor a PyTorch checkpoint`);
}

export async function readShardedIndex(source: ByteSource): Promise<TensorIndex> {
  const fileSize = await source.size();
  if (fileSize > MAX_INDEX_BYTES) {
    throw new FormatError(`${source.name}: shard index of ${fileSize} bytes exceeds the ${MAX_INDEX_BYTES}-byte limit`);
  }
  const index = await parseIndex(source, fileSize);
  if (index === undefined) throw new FormatError(`${source.name}: not a shard index (no "weight_map" object)`);
  if (index.weightMap.size === 0) throw new FormatError(`${source.name}: invalid shard index: weight_map is empty`);

  const shardOrder: string[] = [];
  const listed = new Map<string, Set<string>>();
  for (const [tensor, shard] of index.weightMap) {
    checkShardName(source.name, shard);
    let names = listed.get(shard);
    if (names === undefined) {
      names = new Set();
      listed.set(shard, names);
      shardOrder.push(shard);
    }
    names.add(tensor);
  }
  if (source.sibling === undefined) {
    throw new SourceError(`${source.name}: cannot open shards next to this index (the source has no siblings)`);
  }

  const tensors: TensorInfo[] = [];
  const skipped: SkippedTensor[] = [];
  const metadata: Record<string, string> = { ...index.metadata };
  let format: string | undefined;
  for (const shardName of shardOrder) {
    const shardSource = await source.sibling(shardName);
    if (shardSource === undefined) {
      throw new SourceError(`${source.name}: shard "${shardName}" named in the index was not found next to it`);
    }
    const shard = await readShard(shardSource);
    if (format !== undefined && shard.format !== format) {
      throw new FormatError(`${source.name}: shards mix formats (${format} and ${shard.format} in "${shardName}")`);
    }
    format = shard.format;
    const wanted = listed.get(shardName)!;
    const found = new Set<string>();
    for (const tensor of shard.tensors) {
      if (wanted.has(tensor.name)) {
        tensors.push(tensor);
        found.add(tensor.name);
      } else {
        skipped.push({ name: tensor.name, reason: `in shard "${shardName}" but not listed in the index` });
      }
    }
    for (const entry of shard.skipped) {
      if (wanted.has(entry.name)) found.add(entry.name);
      skipped.push(entry);
    }
    for (const name of wanted) {
      if (!found.has(name)) throw new FormatError(`${source.name}: tensor "${name}" is mapped to shard "${shardName}", which does not hold it`);
    }
    for (const [key, value] of Object.entries(shard.metadata)) if (!(key in metadata)) metadata[key] = value;
  }
  return { format: format!, tensors, metadata, skipped };
}
