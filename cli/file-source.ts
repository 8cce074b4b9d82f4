/**
 * ByteSource over a local file: positional reads through one file descriptor, opened lazily.
 * Siblings (shards, external data) resolve inside the same directory only.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { checkRange, type ByteSource } from "../core/formats/byte-source.js";
import { SourceError } from "../core/errors.js";

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

const openHandles = new Set<FileSource>();

export async function fileSource(filePath: string, displayName = filePath): Promise<FileSource> {
  let info;
  try {
    info = await stat(filePath);
  } catch (error) {
    throw new SourceError(`${displayName}: cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!info.isFile()) throw new SourceError(`${displayName}: not a regular file`);
  const size = info.size;
  let fd: number | undefined;
  const directory = path.dirname(filePath);

  // Synchronous positional reads: layer streaming issues many small reads (a row segment per
  // column panel), and a thread-pool round trip per read would cost more than the copy.
  const readFully = (offset: number, target: Uint8Array): void => {
    checkRange(displayName, size, offset, target.length);
    fd ??= openSync(filePath, "r");
    let done = 0;
    while (done < target.length) {
      const bytesRead = readSync(fd, target, done, target.length - done, offset + done);
      if (bytesRead === 0) throw new SourceError(`${displayName}: file shrank while reading (at byte ${offset + done})`);
      done += bytesRead;
    }
  };

  const source: FileSource = {
    name: displayName,
    size: async () => size,
    async read(offset, length) {
      checkRange(displayName, size, offset, length); // before allocating what the caller asked for
      const bytes = new Uint8Array(length);
      readFully(offset, bytes);
      return bytes;
    },
    async readInto(offset, target) {
      readFully(offset, target);
    },
    async sibling(relativePath) {
      const target = path.resolve(directory, relativePath);
      const inside = path.relative(directory, target);
      if (inside.startsWith("..") || path.isAbsolute(inside)) {
        throw new SourceError(`${displayName}: refuses to open "${relativePath}" outside the model's directory`);
      }
      try {
        await stat(target);
      } catch {
        return undefined;
      }
      return fileSource(target, path.join(path.dirname(displayName), relativePath));
    },
    async close() {
      openHandles.delete(source);
      if (fd !== undefined) {
        closeSync(fd);
        fd = undefined;
      }
    },
  };
  openHandles.add(source);
  return source;
}

/** Closes every file this process opened through fileSource (siblings included). */
export async function closeAllFileSources(): Promise<void> {
  await Promise.all([...openHandles].map((source) => source.close()));
}
