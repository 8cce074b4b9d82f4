/**
 * The SpectralKernel over the WebAssembly module built from ./assembly (build/spectral.wasm).
 * Host-neutral: the front end compiles or imports the module and hands it in.
 */
import { UnsupportedError } from "../errors.js";
import type { Eigh, GramAccumulator, SpectralKernel } from "./kernel.js";

/** The module's exports (see core/spectral/assembly/index.ts). */
interface KernelExports {
  memory: WebAssembly.Memory;
  bytesNeeded(m: number, blockRows: number): number;
  maxBlockRows(): number;
  begin(m: number): number;
  staging(rows: number): number;
  accumulate(rows: number): void;
  eigvalsh(): number;
  bytesNeededVectors(m: number, blockRows: number): number;
  eigh(): number;
  eigenvectors(): number;
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
          const address = checkedResult(wasm.eigvalsh(), m);
          const values = new Float64Array(wasm.memory.buffer, address, m).slice();
          return values.sort();
        } finally {
          active = undefined;
        }
      },
      eigh(): Eigh {
        live();
        try {
          const address = checkedResult(wasm.eigh(), m);
          const unsorted = new Float64Array(wasm.memory.buffer, address, m);
          const rows = new Float64Array(wasm.memory.buffer, wasm.eigenvectors(), m * m);
          // ascending, ties kept in the kernel's order (a stable sort of positions)
          const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => unsorted[a]! - unsorted[b]! || a - b);
          const values = new Float64Array(m);
          const vectors = new Float64Array(m * m);
          order.forEach((from, to) => {
            values[to] = unsorted[from]!;
            vectors.set(rows.subarray(from * m, (from + 1) * m), to * m);
          });
          return { values, vectors };
        } finally {
          active = undefined;
        }
      },
      dispose(): void {
        if (active === token) active = undefined;
      },
    };
  }

  /** The address a reduction returned, or the error its status code means. */
  function checkedResult(address: number, m: number): number {
    if (address === EIGVALSH_NONFINITE) {
      throw new UnsupportedError(`eigenvalues of a ${m}-column matrix: the matrix has NaN or infinite entries`);
    }
    if (address === EIGVALSH_NO_MEMORY) throw outOfMemory(m);
    if (address === EIGVALSH_NO_CONVERGENCE) {
      throw new Error(`spectral kernel: tridiagonal QL did not converge (${m} columns)`);
    }
    return address;
  }

  return {
    bytesNeeded: (m: number, blockRows: number, withVectors = false): number =>
      withVectors ? wasm.bytesNeededVectors(m, blockRows) : wasm.bytesNeeded(m, blockRows),
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
  const gram = rows >= cols ? "columns" : "rows";
  const accumulator = kernel.gram(gram === "columns" ? cols : rows);
  addMatrix(accumulator, w, rows, cols, gram);
  return accumulator.eigvalsh();
}

/**
 * Eigenpairs of the Gram of a dense row-major `rows` x `cols` matrix on the side `gram` names:
 * "columns" is WᵀW (cols x cols: right singular vectors), "rows" is W Wᵀ (rows x rows: left
 * singular vectors). Needs a kernel with an eigenvector path (GramAccumulator.eigh).
 */
export function eighOfMatrix(kernel: SpectralKernel, w: Float64Array, rows: number, cols: number, gram: "rows" | "columns"): Eigh {
  if (w.length !== rows * cols) {
    throw new RangeError(`eighOfMatrix: ${w.length} values for a ${rows} x ${cols} matrix`);
  }
  const m = gram === "columns" ? cols : rows;
  const accumulator = kernel.gram(m);
  if (accumulator.eigh === undefined) {
    accumulator.dispose();
    throw new UnsupportedError(`eigenvectors of a ${m}-column Gram: this spectral kernel has no eigenvector path`);
  }
  addMatrix(accumulator, w, rows, cols, gram);
  return accumulator.eigh();
}

/**
 * Feeds a dense row-major `rows` x `cols` matrix W into the Gram accumulator of side `gram`:
 * "columns" (WᵀW) takes W's rows as they are; "rows" (W Wᵀ) takes the rows of Wᵀ (columns of W),
 * gathered in blocks of 256. Disposes the accumulator when feeding fails.
 */
function addMatrix(accumulator: GramAccumulator, w: Float64Array, rows: number, cols: number, gram: "rows" | "columns"): void {
  try {
    if (gram === "columns") {
      accumulator.addRows(w);
      return;
    }
    const m = rows;
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
}
