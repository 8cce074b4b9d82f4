/**
 * The kernel's memory bound: a 4096-column Gram (the 4096 x 11008 layer of a 7B model) must run in
 * at most 96 MiB of WebAssembly memory, and bytesNeeded must state the memory a run really takes.
 */
import { describe, expect, it } from "vitest";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { lcgCentered } from "./seeded-random.js";

const MIB = 1024 * 1024;

/** Packed lower triangle of an m x m Gram, in bytes: the dominant term. */
function packedGramBytes(m: number): number {
  return (m * (m + 1) / 2) * 8;
}

describe("spectral kernel memory", () => {
  it("bytesNeeded(4096, 256) is at most 96 MiB and at least the packed Gram", async () => {
    const kernel = await loadSpectralKernel();
    const needed = kernel.bytesNeeded(4096, 256);
    expect(needed).toBeLessThanOrEqual(96 * MIB);
    expect(needed).toBeGreaterThan(packedGramBytes(4096));
    expect(needed % 65536).toBe(0);
    // blocks larger than the kernel's own block size cost nothing more; smaller ones cost less
    expect(kernel.bytesNeeded(4096, 100_000)).toBe(needed);
    expect(kernel.bytesNeeded(4096, 16)).toBeLessThan(needed);
    // the formula: packed Gram + staging and quad-packed copies of 256 rows + page rounding
    const formula = packedGramBytes(4096) + 2 * 256 * 4096 * 8;
    expect(needed - formula).toBeGreaterThanOrEqual(0);
    expect(needed - formula).toBeLessThan(65536 + 4096);
  });

  it("a 2048-column Gram fed 2048 rows grows memory to exactly bytesNeeded", async () => {
    const kernel = await loadSpectralKernel(); // fresh instance: memory starts small
    const m = 2048, rows = 2048, block = 256;
    const needed = kernel.bytesNeeded(m, block);
    const next = lcgCentered(1);
    const accumulator = kernel.gram(m);
    const rowsBlock = new Float64Array(block * m);
    for (let first = 0; first < rows; first += block) {
      for (let i = 0; i < rowsBlock.length; i++) rowsBlock[i] = next();
      accumulator.addRows(rowsBlock);
    }
    const values = accumulator.eigvalsh();
    expect(values.length).toBe(m);
    // uniform(-1/2, 1/2) entries: trace = Σλ ≈ rows·m/12
    const trace = values.reduce((s, x) => s + x, 0);
    expect(Math.abs(trace / ((rows * m) / 12) - 1)).toBeLessThan(0.01);
    expect(kernel.memoryBytes()).toBe(needed);
    // a smaller layer afterwards reuses the same memory
    const small = kernel.gram(100);
    small.addRows(new Float64Array(300 * 100).map(next));
    small.eigvalsh();
    expect(kernel.memoryBytes()).toBe(needed);
  });
});
