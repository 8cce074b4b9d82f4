/**
 * Feeding a planned layer's matrices into the eigenvalue kernel in row blocks, so that a layer
 * never has to be whole in memory (dense), and checking every value for NaN/Inf on the way.
 */
import { BudgetError } from "../errors.js";
import type { GramAccumulator, SpectralKernel } from "../spectral/kernel.js";
import type { PlannedLayer } from "./plan.js";

/** Elements per row block handed to the kernel (4 MiB of float64). */
export const BLOCK_ELEMENTS = 1 << 19;
/** A transposed dense tensor up to this many elements (16 MiB of float64) is read in one piece. */
export const WHOLE_READ_ELEMENTS = 1 << 21;
/** Conv2d kernels are sliced in memory; larger ones are refused (64 MiB of float64). */
export const CONV2D_MAX_ELEMENTS = 1 << 23;

/** A layer whose weights contain NaN or ±Inf: skipped with this message as its reason. */
export class NonFiniteWeightsError extends Error {
  constructor(readonly tensorName: string, readonly element: number, readonly value: number) {
    super(`tensor contains ${Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf"} (element ${element}); the layer is not analyzed`);
    this.name = "NonFiniteWeightsError";
  }
}

/** Wall-clock split of the work: reading and decoding tensors vs. the kernel. */
export interface StreamTimings {
  read_ms: number;
  eigen_ms: number;
}

export interface StreamHooks {
  now?: () => number;
}

/**
 * Eigenvalues (ascending) of X = WᵀW for each matrix of the planned layer: one for dense layers,
 * one per slice in `layer.conv.slices` for conv2d.
 */
export async function layerEigenvalues(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  hooks: StreamHooks = {},
): Promise<{ evals: Float64Array[]; timings: StreamTimings }> {
  const now = hooks.now ?? (() => 0);
  const timings: StreamTimings = { read_ms: 0, eigen_ms: 0 };
  const timedRead = async (start: number, count: number, into?: Float64Array): Promise<Float64Array> => {
    const t0 = now();
    let values: Float64Array;
    if (into !== undefined && layer.tensor.readInto !== undefined) {
      values = into.subarray(0, count);
      await layer.tensor.readInto(start, values);
    } else {
      values = await layer.tensor.read(start, count);
    }
    checkFinite(layer.tensor.name, values, start);
    if (layer.float32) for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]!);
    timings.read_ms += now() - t0;
    return values;
  };
  const timedKernel = <T>(work: () => T): T => {
    const t0 = now();
    try {
      return work();
    } finally {
      timings.eigen_ms += now() - t0;
    }
  };
  const evals = layer.conv === undefined
    ? [await denseEigenvalues(kernel, layer, timedRead, timedKernel)]
    : await convEigenvalues(kernel, layer, timedRead, timedKernel);
  return { evals, timings };
}

/** Reads elements [start, start + count), into `into` (reused across blocks) when given and possible. */
type Reader = (start: number, count: number, into?: Float64Array) => Promise<Float64Array>;
type KernelTimer = <T>(work: () => T) => T;

function checkFinite(tensorName: string, values: Float64Array, start: number): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    // x - x is 0 for finite x and NaN for NaN and ±Inf: one comparison per element.
    if (value - value !== 0) throw new NonFiniteWeightsError(tensorName, start + i, value);
  }
}

async function withAccumulator(
  kernel: SpectralKernel,
  cols: number,
  timer: KernelTimer,
  feed: (acc: GramAccumulator) => Promise<void>,
): Promise<Float64Array> {
  const acc = timer(() => kernel.gram(cols));
  try {
    await feed(acc);
  } catch (error) {
    acc.dispose();
    throw error;
  }
  return timer(() => acc.eigvalsh());
}

async function denseEigenvalues(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  read: Reader,
  timer: KernelTimer,
): Promise<Float64Array> {
  const [out, inp] = layer.tensor.shape as [number, number];
  const { rows, cols } = layer;
  const blockRows = Math.max(1, Math.floor(BLOCK_ELEMENTS / cols));
  return withAccumulator(kernel, cols, timer, async (acc) => {
    if (layer.orientation === "rows") {
      // The tensor's rows are W's rows: contiguous row blocks.
      const buffer = new Float64Array(Math.min(blockRows, rows) * inp);
      for (let r0 = 0; r0 < rows; r0 += blockRows) {
        const count = Math.min(blockRows, rows - r0);
        const block = await read(r0 * inp, count * inp, buffer);
        timer(() => acc.addRows(block));
      }
      return;
    }
    // W = tensorᵀ: W's rows are the tensor's columns.
    if (out * inp <= WHOLE_READ_ELEMENTS) {
      const whole = await read(0, out * inp);
      const blockBuffer = new Float64Array(Math.min(blockRows, inp) * out);
      for (let c0 = 0; c0 < inp; c0 += blockRows) {
        const count = Math.min(blockRows, inp - c0);
        const block = blockBuffer.subarray(0, count * out);
        for (let r = 0; r < out; r++) {
          const rowStart = r * inp + c0;
          for (let c = 0; c < count; c++) block[c * out + r] = whole[rowStart + c]!;
        }
        timer(() => acc.addRows(block));
      }
      return;
    }
    // Column panels: each tensor row contributes one contiguous segment per panel. Panels are at
    // least 256 columns wide so that reads stay reasonably large even for tall tensors.
    const panel = Math.max(256, blockRows);
    const panelBuffer = new Float64Array(Math.min(panel, inp) * out);
    const segmentBuffer = new Float64Array(Math.min(panel, inp));
    for (let c0 = 0; c0 < inp; c0 += panel) {
      const count = Math.min(panel, inp - c0);
      const block = panelBuffer.subarray(0, count * out);
      for (let r = 0; r < out; r++) {
        const segment = await read(r * inp + c0, count, segmentBuffer);
        for (let c = 0; c < count; c++) block[c * out + r] = segment[c]!;
      }
      timer(() => acc.addRows(block));
    }
  });
}

async function convEigenvalues(
  kernel: SpectralKernel,
  layer: PlannedLayer,
  read: Reader,
  timer: KernelTimer,
): Promise<Float64Array[]> {
  const conv = layer.conv!;
  const { out, kh, kw } = conv;
  const inp = conv.in;
  const total = out * inp * kh * kw;
  if (total > CONV2D_MAX_ELEMENTS) {
    throw new BudgetError(
      `${layer.tensor.name}: conv2d tensor has ${total} elements, above the ${CONV2D_MAX_ELEMENTS}-element limit for slicing in memory`,
    );
  }
  const values = await read(0, total);
  const rf = kh * kw;
  const { rows, cols } = layer;
  const scale = conv.scale;
  // weightwatcher's file route scales float32 slices in float32: w' = fl32(w32 · fl32(s)) (§13).
  const scale32 = scale === null ? null : Math.fround(scale);
  const results: Float64Array[] = [];
  for (const s of conv.slices) {
    const matrix = new Float64Array(rows * cols);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inp; i++) {
        // PyTorch layout (out, in, kh, kw): slice s = T[:, :, s]; channels-first (kh, kw, in, out): T[s].
        let w = conv.layout === "first" ? values[(s * inp + i) * out + o]! : values[(o * inp + i) * rf + s]!;
        if (scale !== null) w = layer.float32 ? Math.fround(w * scale32!) : w * scale;
        // Slice T[:, :, s] is out x in; transposed to in x out when out < in (rows >= cols).
        if (out >= inp) matrix[o * cols + i] = w;
        else matrix[i * cols + o] = w;
      }
    }
    results.push(await withAccumulator(kernel, cols, timer, async (acc) => timer(() => acc.addRows(matrix))));
  }
  return results;
}

/** Randomize keeps whole matrices in memory for the shuffle: layers above this many elements are refused (128 MiB of float64). */
export const RANDOMIZE_MAX_ELEMENTS = 1 << 24;

/**
 * The matrices of a planned layer as weightwatcher holds them, for randomize (spec §4.1): a dense
 * tensor as stored (out x in, whatever its aspect); a conv2d slice out x in, transposed to in x out
 * when out < in; scaled and rounded as for the eigenvalues. A shuffle permutes a whole matrix, so
 * each must be in memory: layers above RANDOMIZE_MAX_ELEMENTS are refused with a BudgetError.
 */
export async function heldMatrices(layer: PlannedLayer): Promise<Array<{ data: Float64Array; rows: number; cols: number }>> {
  const total = elementCountOf(layer);
  if (total > RANDOMIZE_MAX_ELEMENTS) {
    throw new BudgetError(
      `${layer.tensor.name}: randomize shuffles whole matrices in memory; ${total} elements exceed the ${RANDOMIZE_MAX_ELEMENTS}-element limit`,
    );
  }
  const read = async (start: number, count: number): Promise<Float64Array> => {
    const values = await layer.tensor.read(start, count);
    checkFinite(layer.tensor.name, values, start);
    if (layer.float32) for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]!);
    return values;
  };
  if (layer.conv === undefined) {
    const [out, inp] = layer.tensor.shape as [number, number];
    const data = await read(0, out * inp);
    return [{ data, rows: out, cols: inp }];
  }
  const conv = layer.conv;
  const { out, kh, kw } = conv;
  const inp = conv.in;
  const values = await read(0, out * inp * kh * kw);
  const rf = kh * kw;
  const scale = conv.scale;
  const scale32 = scale === null ? null : Math.fround(scale);
  return conv.slices.map((s) => {
    const data = new Float64Array(out * inp);
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inp; i++) {
        let w = conv.layout === "first" ? values[(s * inp + i) * out + o]! : values[(o * inp + i) * rf + s]!;
        if (scale !== null) w = layer.float32 ? Math.fround(w * scale32!) : w * scale;
        if (out >= inp) data[o * inp + i] = w;
        else data[i * out + o] = w;
      }
    }
    return out >= inp ? { data, rows: out, cols: inp } : { data, rows: inp, cols: out };
  });
}

function elementCountOf(layer: PlannedLayer): number {
  return layer.tensor.shape.reduce((a, b) => a * b, 1);
}
