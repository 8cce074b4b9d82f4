/**
 * The spectral kernel in workerd: the .wasm arrives as a compiled module import (wrangler's
 * CompiledWasm rule), since workerd refuses to compile WebAssembly at run time. One instance per
 * isolate: its memory is reused layer after layer (it only grows, so the budget check matters).
 */
import spectralModule from "../../build/spectral.wasm";
import type { SpectralKernel } from "../../core/spectral/kernel.js";
import { instantiateSpectralKernel } from "../../core/spectral/wasm-kernel.js";

let instance: Promise<SpectralKernel> | undefined;

export function spectralKernel(): Promise<SpectralKernel> {
  instance ??= instantiateSpectralKernel(spectralModule);
  instance.catch(() => {
    instance = undefined;
  });
  return instance;
}

/**
 * Runs `work` after every earlier call has settled: the kernel holds one Gram at a time, and
 * analyze() starts all layers at once when given a layer runner.
 */
export function serialized<A extends unknown[], R>(work: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (...args: A): Promise<R> => {
    const result = tail.then(() => work(...args));
    tail = result.catch(() => undefined);
    return result;
  };
}
