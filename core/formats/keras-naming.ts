/**
 * Keras weights (TF.js layers models, Keras HDF5, and TF.js manifests that follow Keras names):
 * which layer class owns a weight, the PyTorch-orientation layout of the weight, and the name it
 * is presented under.
 *
 * Naming rule: a weight `<layer path>/<weight>` (`:0` suffix dropped) is presented as
 * `<layer path>.<suffix>`, where the layer's main matrix gets `weight` so the layer planner's
 * `*.weight` rule finds it and its bias gets `bias`:
 *   kernel, embeddings, filters, weights  → weight
 *   depthwise_kernel / depthwise_filter   → weight in a DepthwiseConv2D layer, else depthwise.weight
 *   pointwise_kernel / pointwise_filter   → pointwise.weight   (SeparableConv2D: two analysable kernels)
 *   recurrent_kernel                      → recurrent.weight   (LSTM / GRU / SimpleRNN)
 *   gamma → weight, beta → bias           (BatchNormalization, as PyTorch names them; 1-D)
 *   bias → bias; anything else keeps its own name (moving_mean, alpha, ...)
 * Layout: kernels are TensorFlow-oriented (`[in, out]`, `[kh, kw, in, out]`) and are presented as
 * `[out, in]` / `[out, in, kh, kw]`; depthwise kernels `[kh, kw, in, multiplier]` as
 * `[in * multiplier, 1, kh, kw]` (the PyTorch weight of the same grouped convolution); embedding
 * tables `[vocab, dim]` as stored.
 */
import { identityLayout, tfDepthwiseLayout, tfKernelLayout, type TensorLayout } from "./layout.js";

export interface KerasLayerClass {
  /** Keras class name, e.g. `Dense`, `Conv2D`, `DepthwiseConv2D`, `Embedding`. */
  readonly className: string;
}

/** Layers nest in Model / Sequential configs; deeper nesting than this is ignored. */
const MAX_CONFIG_DEPTH = 16;

/**
 * Layer name → class, from a Keras model config (`{class_name, config: {layers: [...]}}`; old
 * Sequential configs give the layer list directly). Nested models are walked too.
 */
export function kerasLayerClasses(modelConfig: unknown): Map<string, KerasLayerClass> {
  const classes = new Map<string, KerasLayerClass>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > MAX_CONFIG_DEPTH || typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) {
      for (const layer of node) visit(layer, depth + 1);
      return;
    }
    const record = node as Record<string, unknown>;
    const config = record.config;
    if (typeof record.class_name === "string") {
      const name = typeof record.name === "string"
        ? record.name
        : typeof config === "object" && config !== null && typeof (config as Record<string, unknown>).name === "string"
          ? ((config as Record<string, unknown>).name as string)
          : undefined;
      if (name !== undefined && !classes.has(name)) classes.set(name, { className: record.class_name });
    }
    if (Array.isArray(config)) visit(config, depth + 1);
    else if (typeof config === "object" && config !== null) {
      const layers = (config as Record<string, unknown>).layers;
      if (Array.isArray(layers)) visit(layers, depth + 1);
      // Wrappers (TimeDistributed, Bidirectional) keep the wrapped layer in config.layer.
      const inner = (config as Record<string, unknown>).layer;
      if (typeof inner === "object" && inner !== null) visit(inner, depth + 1);
    }
  };
  visit(modelConfig, 0);
  return classes;
}

const MAIN_KERNELS = new Set(["kernel", "filters", "weights"]);
const DEPTHWISE = new Set(["depthwise_kernel", "depthwise_filter"]);
const POINTWISE = new Set(["pointwise_kernel", "pointwise_filter"]);

/** Presented layout of a Keras weight (see the module comment). */
export function kerasWeightLayout(weight: string, shape: readonly number[], layerClass?: KerasLayerClass): TensorLayout {
  if (DEPTHWISE.has(weight)) return tfDepthwiseLayout(shape);
  if (MAIN_KERNELS.has(weight) || POINTWISE.has(weight) || weight === "recurrent_kernel") {
    // Embedding-like classes keep their table as is even when it is called `kernel` (none do in
    // Keras itself; a safeguard for custom layers).
    if (layerClass?.className === "Embedding") return identityLayout(shape);
    return tfKernelLayout(shape);
  }
  return identityLayout(shape);
}

/** Presented name of weight `weight` of the layer at `layerPath` (see the module comment). */
export function kerasWeightName(layerPath: string, weight: string, layerClass?: KerasLayerClass): string {
  const layer = layerPath === "" ? weight : layerPath;
  let suffix: string;
  if (MAIN_KERNELS.has(weight) || weight === "embeddings" || weight === "gamma") suffix = "weight";
  else if (DEPTHWISE.has(weight)) suffix = layerClass?.className === "DepthwiseConv2D" ? "weight" : "depthwise.weight";
  else if (POINTWISE.has(weight)) suffix = "pointwise.weight";
  else if (weight === "recurrent_kernel") suffix = "recurrent.weight";
  else if (weight === "bias" || weight === "beta") suffix = "bias";
  else suffix = weight;
  return layerPath === "" && suffix === weight ? weight : `${layer}.${suffix}`;
}
