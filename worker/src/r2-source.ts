/**
 * A ByteSource over one R2 object: the size and ETag come from `head`, bytes from ranged `get`s,
 * so a reader fetches only the headers and the tensors it needs.
 */
import { checkRange, type ByteSource } from "../../core/formats/byte-source.js";
import { SourceError } from "../../core/errors.js";

/** Opens `key` in `bucket`; rejects with SourceError when the object does not exist. */
export async function r2Source(bucket: R2Bucket, key: string): Promise<ByteSource> {
  const head = await bucket.head(key);
  if (head === null) throw new SourceError(`r2://${key}: no such object`);
  return r2SourceFromHead(bucket, key, head);
}

/** A source over an object whose `head` the caller already has. */
export function r2SourceFromHead(bucket: R2Bucket, key: string, head: R2Object): ByteSource {
  const name = `r2://${key}`;
  const size = head.size;
  const etag = head.etag;
  const directory = key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "";
  return {
    name,
    size: async () => size,
    etag,
    async read(offset: number, length: number): Promise<Uint8Array> {
      checkRange(name, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      // onlyIf the ETag: a replaced object must not mix bytes of two versions into one analysis.
      const object = await bucket.get(key, { range: { offset, length }, onlyIf: { etagMatches: etag } });
      if (object === null) throw new SourceError(`${name}: the object was deleted or replaced during the analysis`);
      if (!("body" in object)) throw new SourceError(`${name}: the object was replaced during the analysis`);
      const bytes = new Uint8Array(await object.arrayBuffer());
      if (bytes.byteLength !== length) {
        throw new SourceError(`${name}: asked for ${length} bytes at ${offset}, R2 returned ${bytes.byteLength}`);
      }
      return bytes;
    },
    async sibling(relativePath: string): Promise<ByteSource | undefined> {
      const siblingKey = resolveSibling(directory, relativePath);
      if (siblingKey === undefined) return undefined;
      const siblingHead = await bucket.head(siblingKey);
      return siblingHead === null ? undefined : r2SourceFromHead(bucket, siblingKey, siblingHead);
    },
  };
}

/** `relativePath` under `directory`; undefined when it would leave the directory. */
function resolveSibling(directory: string, relativePath: string): string | undefined {
  const parts = relativePath.split("/");
  if (parts.some((part) => part === "" || part === "." || part === "..")) return undefined;
  return directory + relativePath;
}
