/**
 * The layer plan: which tensors of a TensorIndex are analyzed, as which layer type, with which
 * matrices (spec §2.2-§2.7). Every tensor of the index ends up either in `layers` or in `skipped`
 * with its reason.
 */
import type { AnalyzeOptions, LayerType, SkippedRecord } from "../report.js";
import type { TensorIndex, TensorInfo } from "../formats/tensor.js";
import { elementCount } from "../formats/tensor.js";
import { isEmbeddingName } from "./embedding-names.js";
import { layerFilter, wwLayerFilter, type FilterTarget } from "./filter.js";
import { MT19937, type MT19937State } from "../metrics/mt19937.js";
import { skipLayerDraws } from "../metrics/randomize.js";

export type TypeRule = "rank" | "container" | "name";

/** How the kh·kw slices of a conv2d tensor [out, in, kh, kw] become matrices. */
export interface ConvSlicing {
  out: number;
  in: number;
  kh: number;
  kw: number;
  /** Slice indices i·kw + j (i outer, j inner) that form this planned layer. */
  slices: number[];
  /** Factor applied to every entry (√(c/2) of conv2d_norm), or null for none. */
  scale: number | null;
  /** Tensor layout: "last" = (out, in, kh, kw) (PyTorch), "first" = (kh, kw, in, out) (the `channels` option). */
  layout: "last" | "first";
}

export interface PlannedLayer {
  layer_id: number;
  name: string;
  longname: string;
  layer_type: LayerType;
  type_rule: TypeRule;
  tensor: TensorInfo;
  /** Present on every row when pool is false (0 for layers that are not conv2d). */
  slice_id?: number;
  /** N and M as reported (weightwatcher's conv2d quirks in compat modes, §2.6, §15.8). */
  N: number;
  M: number;
  rf: number;
  /** Every matrix of the layer is rows x cols with rows >= cols; cols is the Gram dimension. */
  rows: number;
  cols: number;
  /**
   * Dense: "rows" when the tensor's rows are W's rows (out >= in), "columns" when W is the
   * transposed tensor. Conv2d slices are oriented the same way per slice.
   */
  orientation: "rows" | "columns";
  conv?: ConvSlicing;
  /** Round every value to float32 first (weightwatcher's file route, compat "ww-file"). */
  float32: boolean;
  /** Eigenvalues this row will have: cols x number of matrices. */
  num_evals: number;
  /**
   * randomize in the weightwatcher modes: the state of the one generator weightwatcher draws from,
   * as it stands when this row's shuffles start (the draws of the rows before it skipped).
   */
  rngState?: MT19937State;
}

export interface LayerPlan {
  layers: PlannedLayer[];
  skipped: SkippedRecord[];
}

interface Candidate {
  key: string;
  name: string;
  tensor?: TensorInfo;
  /** Reason the format reader could not present the tensor (unsupported dtype, ...). */
  readerReason?: string;
}

const WEIGHT_SUFFIX = ".weight";

function isWeightKey(key: string): boolean {
  return key.endsWith(WEIGHT_SUFFIX) || key === "weight";
}

function layerName(key: string, weightKeys: boolean): string {
  if (!weightKeys) return key;
  // A bare `weight` key (a dot-less state dict, e.g. one nn.Linear) is one unnamed layer (§15.46).
  return key === "weight" ? "" : key.slice(0, -WEIGHT_SUFFIX.length);
}

function byCodePoint(a: Candidate, b: Candidate): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

interface Typing {
  layer_type: LayerType | "unknown";
  type_rule: TypeRule;
  /** Why a tensor of this rank is not a layer. */
  reason?: string;
}

function typeOf(tensor: TensorInfo, name: string, compat: boolean): Typing {
  const shape = tensor.shape;
  if (shape.length === 2) {
    if (shape[0]! < 2) {
      return { layer_type: "unknown", type_rule: "rank", reason: `2-D tensor ${JSON.stringify(shape)} with a first dimension below 2 is not typed as a layer` };
    }
    if (!compat) {
      if (tensor.role === "embedding") return { layer_type: "embedding", type_rule: "container" };
      if (isEmbeddingName(name)) return { layer_type: "embedding", type_rule: "name" };
    }
    return { layer_type: "dense", type_rule: "rank" };
  }
  if (shape.length === 4) return { layer_type: "conv2d", type_rule: "rank" };
  if (shape.length === 3) {
    // [out, in, k]: analyzed by default as a conv2d with kh = 1 (one matrix per tap); weightwatcher
    // 0.7.5.5 keeps such tensors 3-D and never analyzes them (§10.8, §15.17).
    if (!compat) return { layer_type: "conv1d", type_rule: "rank" };
    return { layer_type: "unknown", type_rule: "rank", reason: `3-D tensor ${JSON.stringify(shape)}: conv1d is not analyzed` };
  }
  if (shape.length === 1) {
    return { layer_type: "unknown", type_rule: "rank", reason: "1-D tensor (a norm or bias vector) is not a matrix" };
  }
  return { layer_type: "unknown", type_rule: "rank", reason: `${shape.length}-D tensor is not a layer type alphawatch analyzes` };
}

/** Orders, numbers, types and selects the layers of `index` (options already validated). */
export function planLayers(index: TensorIndex, options: AnalyzeOptions): LayerPlan {
  const compat = options.compat !== "default";
  const all: Candidate[] = [
    ...index.tensors.map((tensor) => ({ key: tensor.name, name: tensor.name, tensor })),
    ...index.skipped.map((s) => ({ key: s.name, name: s.name, readerReason: s.reason })),
  ];
  const weightKeys = all.some((c) => isWeightKey(c.key));
  const skipped: SkippedRecord[] = [];
  const candidates: Candidate[] = [];
  const weightNames = new Set(all.filter((c) => isWeightKey(c.key)).map((c) => layerName(c.key, true)));
  for (const c of all) {
    if (!weightKeys || isWeightKey(c.key)) {
      candidates.push({ ...c, name: layerName(c.key, weightKeys) });
    } else if (c.key.endsWith(".bias") && weightNames.has(c.key.slice(0, -".bias".length))) {
      skipped.push({ name: c.key, reason: `bias of layer ${c.key.slice(0, -".bias".length)}: biases are not analyzed` });
    } else {
      skipped.push({ name: c.key, reason: c.readerReason ?? "not a layer weight: only *.weight tensors are layers" });
    }
  }
  // weightwatcher's dict and file routes take the tensors in sorted-name order (§2.2, §15.40).
  if (compat) candidates.sort(byCodePoint);
  // weightwatcher's dict route starts at start_ids when positive, else 1; its file route at 0 (§2.2).
  const firstId = options.compat === "ww-file" ? options.start_ids : options.start_ids > 0 ? options.start_ids : 1;
  const keep = compat ? wwLayerFilter(options.layers) : layerFilter(options.layers);

  const layers: PlannedLayer[] = [];
  candidates.forEach((c, position) => {
    const layer_id = firstId + position;
    if (c.tensor === undefined) {
      skipped.push({ name: c.key, reason: c.readerReason ?? "tensor could not be read" });
      return;
    }
    const typing = typeOf(c.tensor, c.name, compat);
    const target: FilterTarget = { layer_id, name: c.name, layer_type: typing.layer_type };
    if (options.layers.length > 0 && !keep(target)) {
      skipped.push({ name: c.key, reason: `layer ${layer_id} (${c.name || "<unnamed>"}) excluded by the layers option` });
      return;
    }
    if (typing.layer_type === "unknown") {
      skipped.push({ name: c.key, reason: typing.reason ?? "not a layer" });
      return;
    }
    const planned = planMatrices(c, layer_id, typing.layer_type, typing.type_rule, options);
    if (typeof planned === "string") skipped.push({ name: c.key, reason: planned });
    else layers.push(...planned);
  });
  if (options.randomize && compat) attachGeneratorStates(layers, options.seed);
  return { layers, skipped };
}

/**
 * weightwatcher shuffles every analyzed row's matrices from one generator seeded once, in row
 * order (§4.1, §15.44). Each row gets the generator's state at its start, found by making the
 * earlier rows' bounded draws without shuffling, so rows can be analyzed in any order or thread.
 */
function attachGeneratorStates(layers: PlannedLayer[], seed: number): void {
  const rng = new MT19937(seed);
  for (const layer of layers) {
    layer.rngState = rng.state();
    const matrices = layer.conv === undefined ? 1 : layer.conv.slices.length;
    const size = layer.rows * layer.cols;
    skipLayerDraws(rng, new Array<number>(matrices).fill(size), numComponents(layer));
  }
}

/** weightwatcher's num_components: the eigenvalues a row has (M per matrix, times the slices pooled). */
export function numComponents(layer: PlannedLayer): number {
  return layer.cols * (layer.conv === undefined ? 1 : layer.conv.slices.length);
}

/** The planned rows of one typed layer, or the reason it is skipped (§2.4 steps 4-5). */
function planMatrices(
  c: Candidate,
  layer_id: number,
  layer_type: LayerType,
  type_rule: TypeRule,
  options: AnalyzeOptions,
): PlannedLayer[] | string {
  const tensor = c.tensor!;
  const shape = tensor.shape;
  const compat = options.compat !== "default";
  const float32 = options.compat === "ww-file";
  if (elementCount(shape) === 0) return `tensor ${JSON.stringify(shape)} is empty`;
  const base = { layer_id, name: c.name, longname: c.name, layer_type, type_rule, tensor, float32 };

  if (layer_type === "conv2d" || layer_type === "conv1d") {
    // conv1d [out, in, k] is the conv2d [out, in, 1, k]: the same row-major layout, k taps.
    const layout = options.channels === "first" && layer_type === "conv2d" ? "first" : "last";
    const [out, inp, kh, kw] = (layer_type === "conv1d" ? [shape[0], shape[1], 1, shape[2]]
      : layout === "first" ? [shape[3], shape[2], shape[0], shape[1]] : shape) as [number, number, number, number];
    const rf = kh * kw;
    const rows = Math.max(out, inp);
    const cols = Math.min(out, inp);
    let N = rows;
    let M = cols;
    if (compat) {
      if (options.channels === null && out + inp < kh + kw) {
        // weightwatcher's layout test calls this channels-first and reports out, in unordered (§2.6).
        N = out;
        M = inp;
      } else if (out < inp && rf % 2 === 0) {
        // N and M swapped once per slice: an even number of swaps leaves them swapped (§15.8).
        N = cols;
        M = rows;
      }
    }
    const sizeReason = checkSize(rows, options.pool ? cols * rf : cols, options);
    if (sizeReason !== undefined) return sizeReason;
    const slicing = (slices: number[], count: number): ConvSlicing => ({
      out, in: inp, kh, kw, slices, layout,
      scale: options.conv2d_norm ? Math.sqrt(count / 2) : null,
    });
    const common = { ...base, N, M, rf, rows, cols, orientation: out >= inp ? "rows" as const : "columns" as const };
    if (options.pool) {
      return [{ ...common, conv: slicing(range(rf), 1), num_evals: cols * rf }];
    }
    return range(rf).map((s) => ({ ...common, slice_id: s, conv: slicing([s], rf), num_evals: cols }));
  }

  const [out, inp] = shape as [number, number];
  const rows = Math.max(out, inp);
  const cols = Math.min(out, inp);
  const sizeReason = checkSize(rows, cols, options);
  if (sizeReason !== undefined) return sizeReason;
  const row: PlannedLayer = {
    ...base, N: rows, M: cols, rf: 1, rows, cols,
    orientation: out >= inp ? "rows" : "columns",
    num_evals: cols,
  };
  if (!options.pool) row.slice_id = 0;
  return [row];
}

/** min_evals / max_evals on the eigenvalue count, max_N on N; 0 disables a bound (§2.4, §15.43). */
function checkSize(N: number, evals: number, options: AnalyzeOptions): string | undefined {
  const what = options.pool ? "M·rf" : "M";
  if (options.min_evals && evals < options.min_evals) return `${what} = ${evals} eigenvalues, fewer than min_evals ${options.min_evals}`;
  if (options.max_evals && evals > options.max_evals) return `${what} = ${evals} eigenvalues, more than max_evals ${options.max_evals}`;
  if (options.max_N && N > options.max_N) return `N = ${N}, larger than max_N ${options.max_N}`;
  return undefined;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
