/**
 * dist/index.js is committed (GitHub runs it as is): rebuilding it from the sources must give the
 * same bytes, so a change to the Action, core or the kernel without a rebuilt bundle fails CI.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../shared.js";
import { BUNDLE } from "./run-bundle.js";
// Type-checks the bundle's entry (and its .wasm declaration) with the rest of the project.
import type {} from "../../action/src/index.js";

describe("the committed Action bundle", () => {
  it("is what `npm run build:action` builds from the current sources, byte for byte", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "aw-bundle-"));
    try {
      const fresh = path.join(dir, "index.js");
      execFileSync(process.execPath, [path.join(repoRoot, "action", "build.mjs"), "--outfile", fresh], { cwd: repoRoot });
      const committed = readFileSync(BUNDLE);
      const rebuilt = readFileSync(fresh);
      if (!committed.equals(rebuilt)) {
        throw new Error(`dist/index.js (${committed.byteLength} bytes) differs from a fresh build (${rebuilt.byteLength} bytes): run \`npm run build:action\` and commit dist/index.js`);
      }
      expect(rebuilt.byteLength).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("embeds the spectral kernel and is an ES module with a require shim", () => {
    const text = readFileSync(BUNDLE, "utf8");
    expect(text.startsWith("import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);")).toBe(true);
    expect(existsSync(path.join(repoRoot, "action.yml"))).toBe(true);
    const actionYml = readFileSync(path.join(repoRoot, "action.yml"), "utf8");
    expect(actionYml).toMatch(/^\s+using: node20$/m);
    expect(actionYml).toMatch(/^\s+main: dist\/index\.js$/m);
    // The kernel rides along as base64 of the .wasm bytes (magic number \0asm).
    expect(text).toContain(Buffer.from(readFileSync(path.join(repoRoot, "build", "spectral.wasm"))).toString("base64").slice(0, 64));
  });
});
