/// <reference path="./wasm-binary.d.ts" />
/**
 * Bundle entry (esbuild → dist/index.js): the spectral kernel's WebAssembly is embedded as bytes
 * (`--loader:.wasm=binary`). The same file is the Action and, started as a worker thread by the
 * Action's analysis pool, one of its analysis workers: a single committed file either way.
 */
import kernelWasm from "../../build/spectral.wasm";
import { isAnalysisWorker, serveAnalyses } from "./analysis-worker.js";
import { main } from "./main.js";

if (isAnalysisWorker()) serveAnalyses(kernelWasm);
else await main({ kernelWasm, env: process.env, workerEntry: new URL(import.meta.url) });
