/**
 * Pairs the layers of two reports: by exact name first, then by canonical cross-container name
 * (Hugging Face ↔ GGUF), then unmatched leftovers that hold the very same matrix (a rename).
 */
import type { LayerRecord } from "../report.js";
import { canonicalLayerName, stripParameterSuffix } from "./names.js";

/** How a base layer was paired with a head layer. */
export type MatchKind = "name" | "container" | "renamed";

export interface LayerPair {
  base: LayerRecord;
  head: LayerRecord;
  match: MatchKind;
}

export interface LayerMatching {
  /** In head order. */
  pairs: LayerPair[];
  /** Only in base. */
  removed: LayerRecord[];
  /** Only in head. */
  added: LayerRecord[];
}

/** Key of a layer record: its name (no parameter suffix) and, for per-slice conv2d records, the slice. */
function layerKey(layer: LayerRecord, name: string): string {
  return layer.slice_id === undefined ? name : `${name}#${layer.slice_id}`;
}

export function matchLayers(baseLayers: readonly LayerRecord[], headLayers: readonly LayerRecord[]): LayerMatching {
  const pairedBase = new Map<LayerRecord, LayerRecord>(); // head → base
  const used = new Set<LayerRecord>();

  const pass = (keyOf: (layer: LayerRecord) => string, kind: MatchKind, found: Map<LayerRecord, MatchKind>) => {
    const baseByKey = uniqueIndex(baseLayers.filter((l) => !used.has(l)), keyOf);
    const headByKey = uniqueIndex(headLayers.filter((l) => !pairedBase.has(l)), keyOf);
    for (const [key, head] of headByKey) {
      const base = baseByKey.get(key);
      if (base === undefined || head === null || base === null) continue;
      pairedBase.set(head, base);
      used.add(base);
      found.set(head, kind);
    }
  };

  const kinds = new Map<LayerRecord, MatchKind>();
  pass((l) => layerKey(l, stripParameterSuffix(l.name)), "name", kinds);
  pass((l) => layerKey(l, canonicalLayerName(l.name)), "container", kinds);

  // A rename keeps the matrix: same shape and the same spectrum summary to rounding.
  const leftoverBase = baseLayers.filter((l) => !used.has(l));
  for (const head of headLayers) {
    if (pairedBase.has(head)) continue;
    const base = leftoverBase.find((b) => !used.has(b) && sameMatrix(b, head));
    if (base === undefined) continue;
    pairedBase.set(head, base);
    used.add(base);
    kinds.set(head, "renamed");
  }

  const pairs: LayerPair[] = [];
  const added: LayerRecord[] = [];
  for (const head of headLayers) {
    const base = pairedBase.get(head);
    if (base === undefined) added.push(head);
    else pairs.push({ base, head, match: kinds.get(head)! });
  }
  const removed = baseLayers.filter((l) => !used.has(l));
  return { pairs, removed, added };
}

/** Map key → layer, or null when the key is ambiguous (two layers share it: never guess). */
function uniqueIndex(layers: readonly LayerRecord[], keyOf: (layer: LayerRecord) => string) {
  const index = new Map<string, LayerRecord | null>();
  for (const layer of layers) {
    const key = keyOf(layer);
    index.set(key, index.has(key) ? null : layer);
  }
  return index;
}

const SAME_MATRIX_RTOL = 1e-9;

function sameMatrix(a: LayerRecord, b: LayerRecord): boolean {
  const close = (x: number, y: number) => Math.abs(x - y) <= SAME_MATRIX_RTOL * Math.max(Math.abs(x), Math.abs(y));
  return (
    a.N === b.N &&
    a.M === b.M &&
    a.num_evals === b.num_evals &&
    a.slice_id === b.slice_id &&
    a.norm > 0 &&
    close(a.norm, b.norm) &&
    close(a.lambda_max, b.lambda_max)
  );
}
