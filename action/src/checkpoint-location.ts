/**
 * Where the bytes of one checkpoint version are, in a form that can cross to a worker thread: the
 * bytes themselves (a git blob, read by the main thread, which has the repository), a file (an
 * object of the local Git LFS store), or a download address (the LFS batch API's answer, read
 * with range requests). Whichever thread analyzes the version opens it.
 */
import type { TransferListItem } from "node:worker_threads";
import { bytesSource, type ByteSource } from "../../core/formats/byte-source.js";
import { httpSource } from "../../core/formats/http-source.js";
import { SourceError } from "../../core/errors.js";
import { fileSource } from "../../cli/file-source.js";

export type CheckpointLocation =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "file"; path: string }
  | { kind: "http"; href: string; headers: Record<string, string> };

export interface OpenedSource {
  source: ByteSource;
  close(): Promise<void>;
}

/** A source whose reported name is `name`, and whose size must equal the LFS pointer's. */
function lfsChecked(inner: ByteSource, name: string, pointerSize: number): ByteSource {
  let checked: Promise<number> | undefined;
  const size = (): Promise<number> =>
    (checked ??= inner.size().then((actual) => {
      if (actual !== pointerSize) {
        throw new SourceError(`${name}: the Git LFS object has ${actual} bytes, its pointer says ${pointerSize}`);
      }
      return actual;
    }));
  const checkedSource: ByteSource = {
    name,
    size,
    read: async (offset, length) => {
      await size();
      return inner.read(offset, length);
    },
  };
  const readInto = inner.readInto?.bind(inner);
  if (readInto !== undefined) {
    checkedSource.readInto = async (offset, target) => {
      await size();
      return readInto(offset, target);
    };
  }
  return checkedSource;
}

/**
 * Opens a location under the display name `name`. `lfsSize`, the size a Git LFS pointer gives,
 * is checked against the object actually read.
 */
export async function openLocation(name: string, location: CheckpointLocation, lfsSize?: number): Promise<OpenedSource> {
  const checked = (source: ByteSource) => (lfsSize === undefined ? source : lfsChecked(source, name, lfsSize));
  switch (location.kind) {
    case "bytes":
      return { source: checked(bytesSource(location.bytes, name)), close: async () => undefined };
    case "file": {
      const file = await fileSource(location.path, name);
      return { source: checked(file), close: () => file.close() };
    }
    case "http":
      return { source: checked(httpSource(location.href, { headers: location.headers })), close: async () => undefined };
  }
}

/**
 * What to move rather than copy when posting the location to a worker: the bytes' ArrayBuffer
 * when the view covers all of it. A view into a larger buffer (Node's small-allocation pool) is
 * copied instead: moving that buffer would take memory other objects still use.
 */
export function transferableLocation(location: CheckpointLocation): { location: CheckpointLocation; transfer: TransferListItem[] } {
  if (location.kind !== "bytes") return { location, transfer: [] };
  const { bytes } = location;
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
  return { location: { kind: "bytes", bytes: owned }, transfer: [owned.buffer as ArrayBuffer] };
}
