/**
 * What one planned layer needs in memory: the kernel's own statement (WebAssembly memory) plus the
 * host buffers the layer streaming holds at its peak. Front ends compare it with their budget
 * before the layer starts (a Worker isolate has 128 MB, WebAssembly included, and local workerd
 * does not enforce it); a layer over budget is skipped with that reason, never attempted.
 */
import type { PlannedLayer } from "./plan.js";
import { BLOCK_ELEMENTS, CONV2D_MAX_ELEMENTS, WHOLE_READ_ELEMENTS } from "./stream.js";
import type { SpectralKernel } from "../spectral/kernel.js";
import { elementCount } from "../formats/tensor.js";

const FLOAT64_BYTES = 8;
const MIB = 1024 * 1024;

export interface MemoryNeed {
  /** WebAssembly memory the kernel states it needs (Gram, workspace, staging rows). */
  kernelBytes: number;
  /**
   * JavaScript buffers alive at the peak: the decoded float64 block (and the raw bytes it was
   * decoded from, at most as large), the transposed block or conv2d slice, the eigenvalues and
   * the copies the metrics make of them.
   */
  hostBytes: number;
  totalBytes: number;
}

/**
 * Mirrors how core/layers/stream.ts feeds a planned layer to the kernel; `withVectors` adds the
 * eigenvector path (the vectors option: M² more doubles in the kernel, the matrices held whole).
 */
export function layerMemoryNeed(kernel: SpectralKernel, layer: PlannedLayer, withVectors = false): MemoryNeed {
  const { rows, cols } = layer;
  const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / cols));
  const kernelBytes = kernel.bytesNeeded(cols, blockRows, withVectors);
  let readElements: number;
  let builtElements: number;
  if (layer.conv !== undefined) {
    // The whole tensor is read, then one rows x cols slice is built at a time.
    readElements = elementCount(layer.tensor.shape);
    builtElements = rows * cols;
    if (readElements > CONV2D_MAX_ELEMENTS) readElements = CONV2D_MAX_ELEMENTS;
  } else if (layer.orientation === "rows") {
    const inp = layer.tensor.shape[1]!;
    readElements = Math.min(rows, blockRows) * inp;
    builtElements = 0;
  } else {
    // W is the transposed tensor: read whole when small, else in column panels of each row.
    const total = elementCount(layer.tensor.shape);
    if (total <= WHOLE_READ_ELEMENTS) {
      readElements = total;
      builtElements = Math.min(blockRows, rows) * cols;
    } else {
      const panel = Math.max(256, blockRows);
      readElements = panel;
      builtElements = Math.min(panel, rows) * cols;
    }
  }
  // Raw bytes + decoded float64 for reads; eigenvalues: the result plus ~3 working copies in the metrics.
  // vectors holds every matrix of the layer whole (core/analyze.ts eigenvectorMetrics).
  const heldElements = withVectors ? rows * cols * (layer.conv?.slices.length ?? 1) : 0;
  const hostBytes = FLOAT64_BYTES * (2 * readElements + builtElements + heldElements + 4 * layer.num_evals);
  return { kernelBytes, hostBytes, totalBytes: kernelBytes + hostBytes };
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

/** Undefined when the layer fits in `budgetBytes`, else the skip reason. */
export function overBudgetReason(need: MemoryNeed, budgetBytes: number): string | undefined {
  if (need.totalBytes <= budgetBytes) return undefined;
  return (
    `needs ${mib(need.totalBytes)} MiB of memory (kernel ${mib(need.kernelBytes)} MiB, buffers ${mib(need.hostBytes)} MiB), ` +
    `above the memory budget of ${mib(budgetBytes)} MiB; the layer is not analyzed`
  );
}
