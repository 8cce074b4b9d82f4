/// <reference path="./wasm-binary.d.ts" />
/**
 * Bundle entry (esbuild → dist/index.js): the spectral kernel's WebAssembly is embedded as bytes
 * (`--loader:.wasm=binary`) and compiled when the Action starts.
 */
import kernelWasm from "../../build/spectral.wasm";
import { main } from "./main.js";

await main({ kernelWasm, env: process.env });
