/**
 * A checkpoint file read into memory as a ByteSource whose siblings (shards, external data, weight
 * manifests) are the other files of its folder; `overrides` replaces the bytes of some of them by
 * name, so fuzzing can mutate any file of a multi-file model.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";

/** The file at `filePath`, with siblings resolved in its folder (undefined when absent). */
export function folderSource(filePath: string, overrides?: ReadonlyMap<string, Uint8Array>): ByteSource {
  const bytes = overrides?.get(path.basename(filePath)) ?? new Uint8Array(readFileSync(filePath));
  const base = bytesSource(bytes, filePath);
  return {
    name: filePath,
    size: base.size,
    read: base.read,
    async sibling(relativePath) {
      const target = path.join(path.dirname(filePath), relativePath);
      if (overrides?.has(path.basename(target))) return folderSource(target, overrides);
      return existsSync(target) ? folderSource(target, overrides) : undefined;
    },
  };
}
