/**
 * The rules of DESIGN.md that keep core portable: core/ runs unchanged in Node, workerd and a
 * browser, so it imports nothing Node-only and nothing from its front ends, and generates no code
 * at run time (workerd refuses eval and new Function).
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./shared.js";

function typescriptFiles(folder: string): string[] {
  return readdirSync(path.join(repoRoot, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.startsWith(path.join("core", "spectral", "assembly")));
}

describe("core stays portable", () => {
  const files = typescriptFiles("core");

  it("finds the core sources", () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it("imports nothing Node-only and nothing from cli/, action/ or worker/, and generates no code", () => {
    const offending: string[] = [];
    for (const file of files) {
      const source = readFileSync(path.join(repoRoot, file), "utf8");
      const problems = [
        /from "node:|from "(fs|path|os|buffer|worker_threads|child_process)"/.test(source) && "imports a Node module",
        /\bBuffer\.|\bprocess\.(env|argv|cwd)/.test(source) && "uses Node globals",
        /from "(\.\.\/)+(cli|action|worker)\//.test(source) && "imports a front end",
        /\beval\(|new Function\(/.test(source) && "generates code",
      ].filter(Boolean);
      if (problems.length > 0) offending.push(`${file}: ${problems.join(", ")}`);
    }
    expect(offending).toEqual([]);
  });
});
