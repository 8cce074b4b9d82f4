/**
 * The SpectralKernel over the WebAssembly module built from ./assembly (build/spectral.wasm).
 * Host-neutral: the front end compiles or imports the module and hands it in.
 */
import { UnsupportedError } from "../errors.js";
import type { GramAccumulator, SpectralKernel } from "./kernel.js";

/** The module's exports (see core/spectral/assembly/index.ts). */
interface KernelExports {
  memory: WebAssembly.Memory;
  bytesNeeded(m: number, blockRows: number): number;
  maxBlockRows(): number;
  begin(m: number): number;
  staging(rows: number): number;
  accumulate(rows: number): void;
  eigvalsh(): number;
}

const EIGVALSH_NONFINITE = 0;
const EIGVALSH_NO_MEMORY = 1;
const EIGVALSH_NO_CONVERGENCE = 2;

/** The SpectralKernel plus what a host may want to watch (tests, benchmark). */
export interface WasmSpectralKernel extends SpectralKernel {
  /** Current size of the instance's WebAssembly memory in bytes (it only grows). */
  memoryBytes(): number;
}

export async function instantiateSpectralKernel(module: WebAssembly.Module): Promise<WasmSpectralKernel> {
  const instance = await WebAssembly.instantiate(module, {});
  const wasm = instance.exports as unknown as KernelExports;
  const blockLimit = wasm.maxBlockRows();
  /** Only one Gram lives in the instance's memory at a time. */
  let active: object | undefined;

  const outOfMemory = (m: number): Error =>
    new RangeError(`spectral kernel: WebAssembly memory could not grow for a ${m}-column Gram`);

  function gram(m: number): GramAccumulator {
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`spectral kernel: invalid column count ${m}`);
    if (active !== undefined) {
      throw new Error("spectral kernel: a Gram accumulation is already in progress on this instance");
    }
    if (wasm.begin(m) !== 1) throw outOfMemory(m);
    const token = {};
    active = token;
    const live = (): void => {
      if (active !== token) throw new Error("spectral kernel: this Gram accumulator was already released");
    };
    return {
      addRows(rows: Float64Array): void {
        live();
        if (rows.length % m !== 0) {
          throw new RangeError(`spectral kernel: ${rows.length} values is not a whole number of ${m}-column rows`);
        }
        const total = rows.length / m;
        for (let first = 0; first < total; first += blockLimit) {
          const count = Math.min(blockLimit, total - first);
          const address = wasm.staging(count);
          if (address === 0) throw outOfMemory(m);
          // a view made after staging(): growing memory detaches earlier views
          new Float64Array(wasm.memory.buffer, address, count * m).set(rows.subarray(first * m, (first + count) * m));
          wasm.accumulate(count);
        }
      },
      eigvalsh(): Float64Array {
        live();
        try {
          const address = wasm.eigvalsh();
          if (address === EIGVALSH_NONFINITE) {
            throw new UnsupportedError(
              `eigenvalues of a ${m}-column matrix: the matrix has NaN or infinite entries`,
            );
          }
          if (address === EIGVALSH_NO_MEMORY) throw outOfMemory(m);
          if (address === EIGVALSH_NO_CONVERGENCE) {
            throw new Error(`spectral kernel: tridiagonal QL did not converge (${m} columns)`);
          }
          const values = new Float64Array(wasm.memory.buffer, address, m).slice();
          return values.sort();
        } finally {
          active = undefined;
        }
      },
      dispose(): void {
        if (active === token) active = undefined;
      },
    };
  }

  return {
    bytesNeeded: (m: number, blockRows: number): number => wasm.bytesNeeded(m, blockRows),
    gram,
    memoryBytes: (): number => wasm.memory.buffer.byteLength,
  };
}

/**
 * Eigenvalues (ascending) of WᵀW for a dense row-major `rows` x `cols` matrix, computed on the
 * smaller side: if rows < cols, Wᵀ is fed instead (W Wᵀ has the same nonzero eigenvalues).
 */
export function eigvalshOfMatrix(kernel: SpectralKernel, w: Float64Array, rows: number, cols: number): Float64Array {
  if (w.length !== rows * cols) {
    throw new RangeError(`eigvalshOfMatrix: ${w.length} values for a ${rows} x ${cols} matrix`);
  }
  if (rows >= cols) {
    const accumulator = kernel.gram(cols);
    try {
      accumulator.addRows(w);
    } catch (error) {
      accumulator.dispose();
      throw error;
    }
    return accumulator.eigvalsh();
  }
  // rows < cols: feed the rows of Wᵀ (columns of W) in blocks
  const m = rows;
  const accumulator = kernel.gram(m);
  try {
    const blockRows = 256;
    const block = new Float64Array(blockRows * m);
    for (let first = 0; first < cols; first += blockRows) {
      const count = Math.min(blockRows, cols - first);
      for (let r = 0; r < count; r++) {
        const column = first + r;
        for (let i = 0; i < m; i++) block[r * m + i] = w[i * cols + column]!;
      }
      accumulator.addRows(block.subarray(0, count * m));
    }
  } catch (error) {
    accumulator.dispose();
    throw error;
  }
  return accumulator.eigvalsh();
}
