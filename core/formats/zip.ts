/**
 * A minimal ZIP reader for checkpoint containers (PyTorch zip checkpoints, NumPy .npz).
 *
 * It reads only the end-of-central-directory record, the central directory and, per member, the
 * local header and the byte range of that member. Members are stored (method 0: a contiguous range
 * of the file, read range by range) or deflated (method 8: inflated as a stream with fflate; a
 * request continues from where the previous one stopped, so reading a member front to back in
 * blocks inflates it once and never holds it whole). ZIP64 sizes and offsets are supported;
 * encryption, multi-disk archives and other compression methods are refused.
 */
import { Inflate } from "fflate";
import type { ByteSource } from "./byte-source.js";
import { FormatError, UnsupportedError } from "../errors.js";
import { lenientUtf8 } from "./text.js";

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  readonly flags: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly entries: readonly ZipEntry[];
  readonly byName: ReadonlyMap<string, ZipEntry>;
}

/**
 * Deflate cannot expand data by more than about 1032:1; a member that declares more is lying.
 * The slack covers tiny members whose deflate stream has a fixed overhead.
 */
const MAX_DEFLATE_RATIO = 1032;
const DEFLATE_SLACK_BYTES = 1024;
/** Members inflated whole (pickles, headers) must stay below this. */
export const MAX_WHOLE_MEMBER_BYTES = 256 * 1024 * 1024;
/** Compressed bytes fed to the inflater per step. */
const INFLATE_CHUNK_BYTES = 64 * 1024;

const EOCD_SIGNATURE = 0x06054b50;
const EOCD64_LOCATOR_SIGNATURE = 0x07064b50;
const EOCD64_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_ENTRY_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;

/** True when `head` starts with a ZIP local-file header or an empty archive's EOCD. */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.byteLength >= 4 && head[0] === 0x50 && head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(view: DataView, offset: number, what: string, sourceName: string): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FormatError(`${sourceName}: invalid zip archive: ${what} ${value} is too large`);
  }
  return Number(value);
}

const archives = new WeakMap<ByteSource, Promise<ZipArchive>>();

/** Reads the central directory of `source` (cached per source, so detection and reading share it). */
export function openZip(source: ByteSource): Promise<ZipArchive> {
  let archive = archives.get(source);
  if (archive === undefined) {
    archive = readCentralDirectory(source);
    archives.set(source, archive);
  }
  return archive;
}

async function readCentralDirectory(source: ByteSource): Promise<ZipArchive> {
  const fail = (problem: string): never => {
    throw new FormatError(`${source.name}: invalid zip archive: ${problem}`);
  };
  const fileSize = await source.size();
  if (fileSize < EOCD_SIZE) fail(`file is ${fileSize} bytes, too short for an end-of-central-directory record`);
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const tailView = dataView(tail);
  let eocd = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tailView.getUint32(i, true) === EOCD_SIGNATURE && i + EOCD_SIZE + tailView.getUint16(i + 20, true) <= tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("no end-of-central-directory record (truncated download?)");
  const disk = tailView.getUint16(eocd + 4, true);
  const cdDisk = tailView.getUint16(eocd + 6, true);
  if (disk !== 0 || cdDisk !== 0) throw new UnsupportedError(`${source.name}: multi-disk zip archives are not supported`);
  let entryCount = tailView.getUint16(eocd + 10, true);
  let cdSize = tailView.getUint32(eocd + 12, true);
  let cdOffset = tailView.getUint32(eocd + 16, true);

  const needsZip64 = entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  const locatorAt = tailStart + eocd - 20;
  if (locatorAt >= 0) {
    const locator = dataView(await source.read(locatorAt, 20));
    if (locator.getUint32(0, true) === EOCD64_LOCATOR_SIGNATURE) {
      const eocd64Offset = u64(locator, 8, "ZIP64 record offset", source.name);
      if (eocd64Offset + 56 > fileSize) fail(`ZIP64 end record offset ${eocd64Offset} is past the end of the file`);
      const record = dataView(await source.read(eocd64Offset, 56));
      if (record.getUint32(0, true) !== EOCD64_SIGNATURE) fail("ZIP64 end record signature missing");
      entryCount = u64(record, 32, "entry count", source.name);
      cdSize = u64(record, 40, "central directory size", source.name);
      cdOffset = u64(record, 48, "central directory offset", source.name);
    } else if (needsZip64) {
      fail("ZIP64 locator missing");
    }
  }
  if (cdOffset + cdSize > fileSize) {
    fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end of the file (${fileSize} bytes)`);
  }
  if (entryCount * CENTRAL_ENTRY_SIZE > cdSize) {
    fail(`${entryCount} entries cannot fit in a ${cdSize}-byte central directory`);
  }
  const cd = await source.read(cdOffset, cdSize);
  const view = dataView(cd);
  const decoder = lenientUtf8;
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let at = 0;
  for (let index = 0; index < entryCount; index++) {
    if (at + CENTRAL_ENTRY_SIZE > cdSize || view.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      fail(`central directory entry ${index} is malformed`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    let compressedSize = view.getUint32(at + 20, true);
    let uncompressedSize = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    const nameStart = at + CENTRAL_ENTRY_SIZE;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > cdSize) fail(`central directory entry ${index} runs past the directory`);
    const name = decoder.decode(cd.subarray(nameStart, extraStart));
    // ZIP64 extended information: the 64-bit values present are those whose 32-bit field is all ones.
    for (let x = extraStart; x + 4 <= extraStart + extraLength;) {
      const id = view.getUint16(x, true);
      const size = view.getUint16(x + 2, true);
      if (x + 4 + size > extraStart + extraLength) break;
      if (id === 0x0001) {
        let field = x + 4;
        const take = (what: string): number => {
          if (field + 8 > x + 4 + size) fail(`ZIP64 field of "${name}" is too short for its ${what}`);
          const value = u64(view, field, what, source.name);
          field += 8;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take("uncompressed size");
        if (compressedSize === 0xffffffff) compressedSize = take("compressed size");
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take("local header offset");
      }
      x += 4 + size;
    }
    if (localHeaderOffset + LOCAL_HEADER_SIZE + compressedSize > fileSize) {
      fail(`member "${name}" (offset ${localHeaderOffset}, ${compressedSize} bytes) runs past the end of the file`);
    }
    const entry: ZipEntry = { name, method, compressedSize, uncompressedSize, localHeaderOffset, flags };
    entries.push(entry);
    if (!byName.has(name)) byName.set(name, entry);
    at = next;
  }
  return { source, entries, byName };
}

const dataOffsets = new WeakMap<ZipEntry, Promise<number>>();

/** File offset of a member's first data byte (after its local header, which may differ in length from the central one). */
export function memberDataOffset(archive: ZipArchive, entry: ZipEntry): Promise<number> {
  let offset = dataOffsets.get(entry);
  if (offset === undefined) {
    offset = (async () => {
      const source = archive.source;
      const local = dataView(await source.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE));
      if (local.getUint32(0, true) !== LOCAL_SIGNATURE) {
        throw new FormatError(`${source.name}: invalid zip archive: local header of "${entry.name}" is missing`);
      }
      const start = entry.localHeaderOffset + LOCAL_HEADER_SIZE + local.getUint16(26, true) + local.getUint16(28, true);
      if (start + entry.compressedSize > (await source.size())) {
        throw new FormatError(`${source.name}: invalid zip archive: data of "${entry.name}" runs past the end of the file`);
      }
      return start;
    })();
    dataOffsets.set(entry, offset);
  }
  return offset;
}

/**
 * A member as a ByteSource of its uncompressed bytes. Stored members are read range by range;
 * deflated members are inflated as a stream (see the module comment).
 */
export function memberSource(archive: ZipArchive, entry: ZipEntry): ByteSource {
  const name = `${archive.source.name}:${entry.name}`;
  if (entry.flags & 1) throw new UnsupportedError(`${name}: encrypted zip members are not supported`);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new FormatError(`${name}: stored member declares ${entry.uncompressedSize} bytes but holds ${entry.compressedSize}`);
    }
    return {
      name,
      size: async () => entry.uncompressedSize,
      async read(offset, length) {
        checkMemberRange(name, entry.uncompressedSize, offset, length);
        const start = await memberDataOffset(archive, entry);
        return archive.source.read(start + offset, length);
      },
    };
  }
  if (entry.method === 8) {
    if (entry.uncompressedSize > entry.compressedSize * MAX_DEFLATE_RATIO + DEFLATE_SLACK_BYTES) {
      throw new FormatError(`${name}: deflated member declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed bytes, more than deflate can produce`);
    }
    const stream = new InflateCursor(archive, entry, name);
    return {
      name,
      size: async () => entry.uncompressedSize,
      async read(offset, length) {
        checkMemberRange(name, entry.uncompressedSize, offset, length);
        return stream.read(offset, length);
      },
    };
  }
  throw new UnsupportedError(`${name}: zip compression method ${entry.method} is not supported (only stored and deflated)`);
}

function checkMemberRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new FormatError(`${name}: byte range ${offset}+${length} is outside the member (${size} bytes)`);
  }
}

/** Reads the whole member into memory; for small members (pickles, headers) only. */
export async function readWholeMember(archive: ZipArchive, entry: ZipEntry, limit = MAX_WHOLE_MEMBER_BYTES): Promise<Uint8Array> {
  if (entry.uncompressedSize > limit) {
    throw new FormatError(`${archive.source.name}:${entry.name}: member of ${entry.uncompressedSize} bytes exceeds the ${limit}-byte limit for this part of the file`);
  }
  const member = memberSource(archive, entry);
  return member.read(0, entry.uncompressedSize);
}

/**
 * A deflate stream over one member with a position: a read at or after the position continues
 * the stream, a read before it starts again from the member's first byte.
 */
class InflateCursor {
  private inflater: Inflate | undefined;
  /** Uncompressed bytes produced so far. */
  private produced = 0;
  /** Compressed bytes consumed so far. */
  private consumed = 0;
  /** Output chunks not yet handed out, oldest first, with the offset of the first one. */
  private pending: Uint8Array[] = [];
  private pendingStart = 0;
  private finished = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly archive: ZipArchive,
    private readonly entry: ZipEntry,
    private readonly name: string,
  ) {}

  read(offset: number, length: number): Promise<Uint8Array> {
    // Reads share one stream; serialise them so that each sees a consistent position.
    const result = this.queue.then(() => this.readNow(offset, length));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private restart(): void {
    this.pending = [];
    this.pendingStart = 0;
    this.produced = 0;
    this.consumed = 0;
    this.finished = false;
    this.inflater = new Inflate((chunk) => {
      this.produced += chunk.byteLength;
      if (this.produced > this.entry.uncompressedSize) {
        throw new FormatError(`${this.name}: deflated data inflates past the declared ${this.entry.uncompressedSize} bytes`);
      }
      this.pending.push(chunk);
    });
  }

  private async readNow(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (length === 0) return out;
    if (this.inflater === undefined || offset < this.pendingStart) this.restart();
    const dataStart = await memberDataOffset(this.archive, this.entry);
    let filled = 0;
    while (filled < length) {
      // Drop chunks wholly before the requested range, copy the overlapping part.
      while (this.pending.length > 0) {
        const chunk = this.pending[0]!;
        const chunkEnd = this.pendingStart + chunk.byteLength;
        const want = offset + filled;
        if (chunkEnd <= want) {
          this.pending.shift();
          this.pendingStart = chunkEnd;
          continue;
        }
        const from = want - this.pendingStart;
        const take = Math.min(chunk.byteLength - from, length - filled);
        out.set(chunk.subarray(from, from + take), filled);
        filled += take;
        if (filled === length) break;
        this.pending.shift();
        this.pendingStart = chunkEnd;
      }
      if (filled === length) break;
      if (this.finished) {
        throw new FormatError(`${this.name}: deflated data ends after ${this.produced} bytes, the member declares ${this.entry.uncompressedSize}`);
      }
      const step = Math.min(INFLATE_CHUNK_BYTES, this.entry.compressedSize - this.consumed);
      const compressed = await this.archive.source.read(dataStart + this.consumed, step);
      this.consumed += step;
      const final = this.consumed === this.entry.compressedSize;
      try {
        this.inflater!.push(compressed, final);
      } catch (error) {
        this.inflater = undefined;
        if (error instanceof FormatError) throw error;
        throw new FormatError(`${this.name}: corrupt deflate data (${(error as Error).message})`, { cause: error });
      }
      if (final) this.finished = true;
    }
    return out;
  }
}

/** Lists member names for error messages, shortened. */
export function describeMembers(archive: ZipArchive, max = 5): string {
  const names = archive.entries.slice(0, max).map((e) => e.name);
  const more = archive.entries.length > max ? `, ... (${archive.entries.length} members)` : "";
  return names.length === 0 ? "no members" : `members ${names.join(", ")}${more}`;
}
