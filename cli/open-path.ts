/**
 * Turns what the user typed (a file, a directory, an http(s) URL) into a ByteSource for core.
 * Directories are resolved to their model entry point (an index of shards, a single model file, a
 * model.json); the readers then open shards and external data as siblings.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { ByteSource } from "../core/formats/byte-source.js";
import { SourceError } from "../core/errors.js";
import { httpSource } from "../core/formats/http-source.js";
import { pickModelEntry } from "../core/formats/directory.js";
import { fileSource } from "./file-source.js";

export function isUrl(target: string): boolean {
  return /^https?:\/\//i.test(target);
}

export async function openPath(target: string): Promise<ByteSource> {
  if (isUrl(target)) return httpSource(target);
  let info;
  try {
    info = await stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SourceError(`${target}: ${code === "ENOENT" ? "no such file or directory" : `cannot read (${code ?? String(error)})`}`);
  }
  if (!info.isDirectory()) return fileSource(target);
  const names = await readdir(target);
  const entry = pickModelEntry(names);
  if (entry === undefined) {
    throw new SourceError(`${target}: directory holds no model file alphawatch recognises (${names.length} files)`);
  }
  return fileSource(path.join(target, entry));
}
