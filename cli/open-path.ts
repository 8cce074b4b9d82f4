/**
 * Turns what the user typed (a file, a directory, an http(s) URL) into what core analyzes: a
 * ByteSource and the way to read its tensor index. Directories are resolved to their model entry
 * point (an index of shards, a single model file, a model.json); the readers then open shards and
 * external data as siblings. A directory of `.npy` files is one model, one tensor per file.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { bytesSource, type ByteSource } from "../core/formats/byte-source.js";
import { SourceError } from "../core/errors.js";
import { httpSource } from "../core/formats/http-source.js";
import { isDirectoryOfArrays, pickModelEntry, readDirectoryOfArrays } from "../core/formats/directory.js";
import { openTensorIndex } from "../core/formats/open.js";
import type { TensorIndex } from "../core/formats/tensor.js";
import { fileSource } from "./file-source.js";

export interface OpenedModel {
  source: ByteSource;
  openIndex: (source: ByteSource) => Promise<TensorIndex>;
  /** False when the source is a listing rather than the model's bytes (directories of arrays). */
  hashable: boolean;
}

export function isUrl(target: string): boolean {
  return /^https?:\/\//i.test(target);
}

export async function openPath(target: string): Promise<OpenedModel> {
  // A URL is identified by its ETag when the server gives one: hashing would download the file.
  if (isUrl(target)) return { source: httpSource(target), openIndex: openTensorIndex, hashable: false };
  let info;
  try {
    info = await stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`${target}: ${code === "ENOENT" ? "no such file or directory" : `cannot read (${code ?? String(error)})`}`);
  }
  if (!info.isDirectory()) return { source: await fileSource(target), openIndex: openTensorIndex, hashable: true };
  const names = (await readdir(target)).sort();
  const entry = pickModelEntry(names);
  if (entry !== undefined) return { source: await fileSource(path.join(target, entry)), openIndex: openTensorIndex, hashable: true };
  if (isDirectoryOfArrays(names)) {
    const files = await Promise.all(names.filter((name) => name.endsWith(".npy")).map((name) => fileSource(path.join(target, name))));
    // The report identifies a directory by its listing; its files are read by the index below.
    const listing = new TextEncoder().encode(JSON.stringify(names));
    return { source: bytesSource(listing, target), openIndex: () => readDirectoryOfArrays(files, target), hashable: false };
  }
  throw new SourceError(`${target}: directory holds no model file alphawatch recognises (${names.length} files)`);
}
