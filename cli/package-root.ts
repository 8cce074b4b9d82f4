/** Locates alphawatch's package root (the folder of its package.json) from source or compiled code. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(directory, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "alphawatch") {
      cached = directory;
      return directory;
    }
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error("alphawatch: cannot find the package root (package.json named alphawatch)");
    directory = parent;
  }
}
