/**
 * Where tests find the reference data: `../shared` beside the repository (present in CI).
 * Tests that need it use `describe.skipIf(!hasShared)` and say once why they skip.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const sharedDir = path.resolve(repoRoot, "..", "shared");
export const hasShared = existsSync(path.join(sharedDir, "README.md"));

export function sharedPath(...parts: string[]): string {
  return path.join(sharedDir, ...parts);
}

const warned = new Set<string>();
/** Prints one line per topic when ../shared is absent; returns whether the data is there. */
export function requireShared(what: string): boolean {
  if (!hasShared && !warned.has(what)) {
    warned.add(what);
    console.warn(`../shared not found: skipping ${what}`);
  }
  return hasShared;
}
