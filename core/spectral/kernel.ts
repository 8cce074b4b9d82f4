/**
 * The eigenvalue kernel's interface. The implementation is WebAssembly (AssemblyScript sources in
 * ./assembly), instantiated from a WebAssembly.Module the front end hands in (Node compiles it
 * from bytes; workerd imports the .wasm as a module).
 */

export interface SpectralKernel {
  /**
   * Bytes of WebAssembly memory needed to accumulate and diagonalize an m x m Gram matrix fed in
   * blocks of at most `blockRows` rows. Callers compare it to their budget before starting.
   * `withVectors`: for eigh() instead of eigvalsh() (m² more doubles).
   */
  bytesNeeded(m: number, blockRows: number, withVectors?: boolean): number;
  /** Starts accumulating X = WᵀW for a matrix W with m columns (the smaller side, m <= rows). */
  gram(m: number): GramAccumulator;
}

export interface GramAccumulator {
  /** Adds a block of rows of W (row-major, length = rows * m) to X. */
  addRows(rows: Float64Array): void;
  /** Eigenvalues of X in ascending order (float64). Releases the accumulator's memory. */
  eigvalsh(): Float64Array;
  /**
   * Eigenvalues of X in ascending order with their unit eigenvectors: `vectors` is m x m
   * row-major, row i belongs to values[i] (numpy's eigh returns them as columns). Releases the
   * accumulator's memory. Optional: kernels without an eigenvector path omit it.
   */
  eigh?(): Eigh;
  /** Releases the accumulator's memory without computing eigenvalues. */
  dispose(): void;
}

/** Eigenvalues (ascending) and eigenvectors (rows, same order) of a symmetric m x m matrix. */
export interface Eigh {
  values: Float64Array;
  vectors: Float64Array;
}
