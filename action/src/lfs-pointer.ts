/**
 * Git LFS pointer files (git-lfs spec v1): a few `key value` lines that stand in a git blob for
 * the real file, which lives on an LFS server under its SHA-256 (`oid`).
 */

export interface LfsPointer {
  /** Hex SHA-256 of the real file. */
  oid: string;
  size: number;
}

/** Pointers are tiny; anything larger is a real file. */
export const MAX_POINTER_BYTES = 1024;

const VERSION_LINE = /^version https:\/\/(?:git-lfs\.github\.com\/spec\/v1|hawser\.github\.com\/spec\/v1)$/;

/**
 * The pointer in `bytes`, or undefined when they are not an LFS pointer (a checkpoint stored in
 * git directly). Checks every rule a pointer must follow, so that a model file that merely starts
 * with the same text is never mistaken for one.
 */
export function parseLfsPointer(bytes: Uint8Array): LfsPointer | undefined {
  if (bytes.byteLength > MAX_POINTER_BYTES || bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  if (!text.endsWith("\n")) return undefined;
  const lines = text.slice(0, -1).split("\n");
  if (!VERSION_LINE.test(lines[0] ?? "")) return undefined;
  let oid: string | undefined;
  let size: number | undefined;
  let previousKey = "";
  for (const line of lines.slice(1)) {
    const match = /^([a-z0-9.-]+) (.+)$/.exec(line);
    if (match === null) return undefined;
    const [, key, value] = match as unknown as [string, string, string];
    if (key <= previousKey) return undefined; // keys after `version` are sorted and unique
    previousKey = key;
    if (key === "oid") {
      const oidMatch = /^sha256:([0-9a-f]{64})$/.exec(value);
      if (oidMatch === null) return undefined;
      oid = oidMatch[1];
    } else if (key === "size") {
      if (!/^\d{1,16}$/.test(value)) return undefined;
      size = Number(value);
      if (!Number.isSafeInteger(size)) return undefined;
    }
  }
  return oid === undefined || size === undefined ? undefined : { oid, size };
}
