/**
 * describe(): the layers analyze() would analyze, with their shapes and types, without reading a
 * single weight (weightwatcher's describe(), spec §11). Header parsing and the layer plan only,
 * so it is instant even on multi-gigabyte checkpoints.
 */
import type { ByteSource } from "./formats/byte-source.js";
import type { TensorIndex } from "./formats/tensor.js";
import { openTensorIndex } from "./formats/open.js";
import { resolveOptions } from "./analyze.js";
import { planLayers } from "./layers/plan.js";
import type { AnalyzeOptions, LayerType, SkippedRecord } from "./report.js";
import { VERSION } from "./version.js";

/** One layer as weightwatcher's describe() lists it, plus the tensor's dtype and shape. */
export interface DescribeRow {
  layer_id: number;
  name: string;
  longname: string;
  layer_type: LayerType;
  N: number;
  M: number;
  Q: number;
  rf: number;
  /**
   * Eigenvalues the layer would have: M·rf pooled, M with pool false. In the weightwatcher modes
   * M·rf from the reported M, which for conv2d may be the swapped one (§2.6, §15.8), as weightwatcher does.
   */
  num_evals: number;
  dtype: string;
  shape: number[];
}

export interface Description {
  tool: { name: "alphawatch"; version: string };
  options: AnalyzeOptions;
  source: { path: string; format: string; size: number; metadata: Record<string, string> };
  layers: DescribeRow[];
  skipped: SkippedRecord[];
}

export interface DescribeDeps {
  /** Format detection and header parsing; openTensorIndex by default. */
  openIndex?: (source: ByteSource) => Promise<TensorIndex>;
}

/** The layer list of `source` under `options` (the same selection rules as analyze()). */
export async function describe(source: ByteSource, options: Partial<AnalyzeOptions> = {}, deps: DescribeDeps = {}): Promise<Description> {
  const resolved = resolveOptions(options);
  const index = await (deps.openIndex ?? openTensorIndex)(source);
  const size = await source.size();
  const plan = planLayers(index, resolved);
  const compat = resolved.compat !== "default";
  const layers: DescribeRow[] = [];
  const seen = new Set<number>();
  for (const layer of plan.layers) {
    // With pool false a conv2d layer is planned once per slice; describe lists the layer once.
    if (seen.has(layer.layer_id)) continue;
    seen.add(layer.layer_id);
    const pooledEvals = compat ? layer.M * layer.rf : layer.cols * layer.rf;
    layers.push({
      layer_id: layer.layer_id,
      name: layer.name,
      longname: layer.longname,
      layer_type: layer.layer_type,
      N: layer.N,
      M: layer.M,
      Q: layer.M === 0 ? -1 : layer.N / layer.M,
      rf: layer.rf,
      num_evals: resolved.pool ? pooledEvals : compat ? layer.M : layer.cols,
      dtype: layer.tensor.dtype,
      shape: [...layer.tensor.shape],
    });
  }
  return {
    tool: { name: "alphawatch", version: VERSION },
    options: resolved,
    source: { path: source.name, format: index.format, size, metadata: { ...index.metadata } },
    layers,
    skipped: plan.skipped,
  };
}
