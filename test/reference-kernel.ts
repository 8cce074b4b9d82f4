/**
 * A small pure-TypeScript SpectralKernel for tests: the Gram matrix accumulated in float64 and
 * diagonalized by ml-matrix (Householder tridiagonalization + QL, JAMA's tred2/tql2). Slow but
 * independent of the WebAssembly kernel; `testKernel()` prefers the real kernel when it is built.
 */
import { existsSync } from "node:fs";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import type { GramAccumulator, SpectralKernel } from "../core/spectral/kernel.js";
import { loadSpectralKernel, spectralWasmPath } from "../cli/load-kernel.js";

export function referenceKernel(): SpectralKernel {
  return {
    bytesNeeded: (m, blockRows) => 8 * (m * m + blockRows * m),
    gram(m: number): GramAccumulator {
      let gram: Float64Array | null = new Float64Array(m * m);
      return {
        addRows(rows) {
          if (gram === null) throw new Error("reference kernel: accumulator released");
          if (rows.length % m !== 0) throw new RangeError(`reference kernel: ${rows.length} values is not a whole number of ${m}-column rows`);
          const g = gram;
          for (let r = 0; r < rows.length; r += m) {
            for (let i = 0; i < m; i++) {
              const wi = rows[r + i]!;
              if (wi === 0) continue;
              const rowOffset = i * m;
              for (let j = 0; j <= i; j++) g[rowOffset + j] = g[rowOffset + j]! + wi * rows[r + j]!;
            }
          }
        },
        eigvalsh() {
          if (gram === null) throw new Error("reference kernel: accumulator released");
          const g = gram;
          gram = null;
          const x = new Matrix(m, m);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j <= i; j++) {
              x.set(i, j, g[i * m + j]!);
              x.set(j, i, g[i * m + j]!);
            }
          }
          const values = Float64Array.from(new EigenvalueDecomposition(x, { assumeSymmetric: true }).realEigenvalues);
          return values.sort();
        },
        dispose() {
          gram = null;
        },
      };
    },
  };
}

/** True when `npm run build` has produced the WebAssembly kernel. */
export function hasWasmKernel(): boolean {
  try {
    return existsSync(spectralWasmPath());
  } catch {
    return false;
  }
}

/** The WebAssembly kernel when built, else the reference kernel (with one line saying so). */
export async function testKernel(): Promise<{ kernel: SpectralKernel; name: "wasm" | "reference" }> {
  // ALPHAWATCH_TEST_KERNEL=reference runs the suites against the pure-TypeScript kernel.
  if (process.env.ALPHAWATCH_TEST_KERNEL !== "reference" && hasWasmKernel()) return { kernel: await loadSpectralKernel(), name: "wasm" };
  console.warn("build/spectral.wasm not found (run npm run build): using the reference kernel");
  return { kernel: referenceKernel(), name: "reference" };
}
