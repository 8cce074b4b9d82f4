/**
 * Node loader for the spectral kernel: finds build/spectral.wasm next to alphawatch's
 * package.json (walking up from this file, so it works from the TypeScript sources under vitest
 * and from the compiled build/cli/), compiles it once per process and instantiates it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "./package-root.js";
import { instantiateSpectralKernel, type WasmSpectralKernel } from "../core/spectral/wasm-kernel.js";

let compiled: Promise<WebAssembly.Module> | undefined;

/** Path of the compiled kernel, build/spectral.wasm under the package root. */
export function spectralWasmPath(): string {
  return join(packageRoot(), "build", "spectral.wasm");
}

function compileKernel(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const path = spectralWasmPath();
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      throw new Error(`${path}: spectral kernel not found; run \`npm run build\``, { cause: error });
    }
    return WebAssembly.compile(bytes);
  })();
  compiled.catch(() => {
    compiled = undefined; // let a later call retry (e.g. after a build)
  });
  return compiled;
}

/** A fresh kernel instance (its own memory); the compiled module is shared. */
export async function loadSpectralKernel(): Promise<WasmSpectralKernel> {
  return instantiateSpectralKernel(await compileKernel());
}
