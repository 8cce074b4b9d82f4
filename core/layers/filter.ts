/**
 * The `layers` option (spec §2.5): entries are layer type names, integer ids, or layer names;
 * a negative id or a name starting with `-` excludes.
 */
import { UsageError } from "../errors.js";

/** Type names a `layers` entry can select (weightwatcher's list). */
export const FILTER_TYPES: ReadonlySet<string> = new Set(["conv2d", "conv1d", "dense", "embedding", "norm"]);

export interface FilterTarget {
  layer_id: number;
  name: string;
  /** Type as the planner determined it (`unknown` for tensors that are no layer). */
  layer_type: string;
}

interface ParsedFilter {
  types: Set<string>;
  excludedTypes: Set<string>;
  ids: Set<number>;
  excludedIds: Set<number>;
  names: Set<string>;
  excludedNames: Set<string>;
}

function parse(entries: readonly (string | number)[]): ParsedFilter {
  const parsed: ParsedFilter = {
    types: new Set(), excludedTypes: new Set(), ids: new Set(), excludedIds: new Set(),
    names: new Set(), excludedNames: new Set(),
  };
  for (const entry of entries) {
    if (typeof entry === "number") {
      if (!Number.isInteger(entry)) throw new UsageError(`option layers: ${entry} is not an integer layer id`);
      if (entry < 0) parsed.excludedIds.add(-entry);
      else parsed.ids.add(entry);
    } else if (FILTER_TYPES.has(entry)) {
      parsed.types.add(entry);
    } else if (entry.startsWith("-") && FILTER_TYPES.has(entry.slice(1))) {
      parsed.excludedTypes.add(entry.slice(1));
    } else if (entry.startsWith("-")) {
      parsed.excludedNames.add(entry.slice(1));
    } else {
      parsed.names.add(entry);
    }
  }
  return parsed;
}

/**
 * The default rule: every kind present must agree (AND). A kind's positive entries restrict to
 * those; its exclusions remove, so `["dense", "-fc3"]` keeps the dense layers but fc3.
 */
export function layerFilter(entries: readonly (string | number)[]): (target: FilterTarget) => boolean {
  const f = parse(entries);
  return (t) =>
    (f.types.size === 0 || f.types.has(t.layer_type)) && !f.excludedTypes.has(t.layer_type) &&
    (f.ids.size === 0 || f.ids.has(t.layer_id)) && !f.excludedIds.has(t.layer_id) &&
    (f.names.size === 0 || f.names.has(t.name)) && !f.excludedNames.has(t.name);
}

/**
 * weightwatcher 0.7.5.5's rule (§15.13): the kinds are applied in the order type, id, name, and
 * each kind present overwrites the previous decision. Negative ids exclude; names with `-`
 * exclude; a mix of names with and without `-` keeps every layer (weightwatcher only logs it).
 */
export function wwLayerFilter(entries: readonly (string | number)[]): (target: FilterTarget) => boolean {
  const types = new Set<string>();
  const ids: number[] = [];
  const names: string[] = [];
  for (const entry of entries) {
    if (typeof entry === "number") ids.push(entry);
    else if (FILTER_TYPES.has(entry)) types.add(entry);
    else names.push(entry);
  }
  const negativeIds = ids.some((id) => id < 0);
  const dashed = names.filter((name) => name.startsWith("-")).length;
  const nameMode = dashed === 0 ? "keep" : dashed === names.length ? "exclude" : "mixed";
  return (t) => {
    let keep = true;
    if (types.size > 0) keep = types.has(t.layer_type);
    if (ids.length > 0) keep = negativeIds ? !ids.includes(-t.layer_id) : ids.includes(t.layer_id);
    if (names.length > 0) {
      if (nameMode === "keep") keep = names.includes(t.name);
      else if (nameMode === "exclude") keep = !names.includes(`-${t.name}`);
      else keep = true;
    }
    return keep;
  };
}
