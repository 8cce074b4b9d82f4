// Compiles the AssemblyScript eigenvalue kernel (core/spectral/assembly/) to build/spectral.wasm.
// Run by `npm run build` (and so by `npm ci` through `prepare`); needs nothing beyond the
// assemblyscript devDependency. Fails the build if the module would need imports other than an
// empty object, so every host (Node, workerd, the Action bundle) can instantiate it with `{}`.
import asc from "assemblyscript/asc";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const entry = join(repoRoot, "core", "spectral", "assembly", "index.ts");
const output = join(repoRoot, "build", "spectral.wasm");

// asc resolves relative paths against the working directory: run it from the repository root.
process.chdir(repoRoot);
await mkdir(dirname(output), { recursive: true });

const args = [
  relative(repoRoot, entry),
  "--outFile", relative(repoRoot, output),
  "-O3",
  "--runtime", "stub",       // the kernel manages its own memory layout; no GC, no allocator
  "--enable", "simd",        // plain SIMD128 only (relaxed SIMD needs a Node flag)
  "--noAssert",
  "--use", "abort=",         // no env.abort import: a failed check traps instead
];

const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
if (error) {
  console.error(`spectral kernel build failed: ${error.message}`);
  process.exit(1);
}

const module = await WebAssembly.compile(await readFile(output));
const imports = WebAssembly.Module.imports(module);
if (imports.length > 0) {
  console.error(`spectral kernel build: unexpected imports ${JSON.stringify(imports)}`);
  process.exit(1);
}
const exports = WebAssembly.Module.exports(module).map((e) => e.name);
console.log(`built ${relative(repoRoot, output)} (exports: ${exports.join(", ")})`);
