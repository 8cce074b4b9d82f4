/**
 * ByteSource: random access to the bytes of one file, wherever it lives (memory, a local file,
 * HTTP range requests, an R2 object). Readers ask only for the ranges they need, so a large
 * checkpoint is never loaded whole.
 */
import { SourceError } from "../errors.js";

export interface ByteSource {
  /** Path or URL, used in every error message about this source. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Exactly `length` bytes from `offset`; rejects with SourceError when the range is out of bounds. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Fills `target` with the bytes from `offset` (target.length of them), when the host can read
   * into a caller's buffer; lets long sequential passes (hashing) reuse one buffer.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  /**
   * A source for a file next to this one (shards, external data, `model.json` weights), or
   * undefined when the host cannot resolve siblings (plain bytes).
   */
  sibling?(relativePath: string): Promise<ByteSource | undefined>;
  /**
   * Strong identity when the host knows one cheaply (an ETag); the sha256 is computed otherwise.
   * Undefined until known: an HTTP source learns it from its first response (after `size()`).
   */
  readonly etag?: string | undefined;
}

/** Checks a requested range against a known size; shared by every ByteSource implementation. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SourceError(`${name}: invalid byte range (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new SourceError(
      `${name}: byte range ${offset}..${offset + length} is past the end of the file (${size} bytes)`,
    );
  }
}

/** A ByteSource over bytes already in memory; siblings come from an optional map of files. */
export function bytesSource(
  bytes: Uint8Array,
  name = "<bytes>",
  siblings?: ReadonlyMap<string, Uint8Array>,
): ByteSource {
  const source: ByteSource = {
    name,
    size: async () => bytes.byteLength,
    read: async (offset, length) => {
      checkRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    sibling: async (relativePath) => {
      const other = siblings?.get(relativePath);
      return other === undefined ? undefined : bytesSource(other, relativePath, siblings);
    },
  };
  return source;
}
