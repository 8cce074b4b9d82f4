/**
 * Analysis options: DEFAULT_OPTIONS overlaid with the caller's, validated, each problem a
 * UsageError naming the option. weightwatcher's own refusals ("params not valid", spec §2.4) apply
 * in the compatibility modes; the options weightwatcher crashes on are refused in every mode.
 */
import { UsageError } from "./errors.js";
import { DEFAULT_OPTIONS, type AnalyzeOptions, type CompatMode } from "./report.js";

const COMPAT_MODES: readonly CompatMode[] = ["default", "ww", "ww-file"];

/**
 * DEFAULT_OPTIONS overlaid with `options`, validated. Throws UsageError naming the option.
 * In the weightwatcher modes the combinations weightwatcher refuses ("params not valid", §2.4)
 * are refused too; by default each bound is checked on its own (§15.34).
 */
export function resolveOptions(options: Partial<AnalyzeOptions> = {}): AnalyzeOptions {
  options = refuseUnsupported(options);
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_OPTIONS)) {
      throw new UsageError(`unknown option "${key}" (known: ${Object.keys(DEFAULT_OPTIONS).join(", ")})`);
    }
  }
  if (options.layers !== undefined && !Array.isArray(options.layers)) {
    throw new UsageError(`option layers: ${JSON.stringify(options.layers)} is not a list of names, ids or types`);
  }
  const merged: AnalyzeOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(options), layers: [...(options.layers ?? DEFAULT_OPTIONS.layers)] };
  if (!COMPAT_MODES.includes(merged.compat)) {
    throw new UsageError(`option compat: ${JSON.stringify(merged.compat)} is not one of ${COMPAT_MODES.join(", ")}`);
  }
  const compat = merged.compat !== "default";
  for (const key of ["min_evals", "max_evals", "max_N"] as const) {
    const value = merged[key];
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new UsageError(`option ${key}: ${JSON.stringify(value)} is not an integer`);
    }
    if (!compat && value < 0) throw new UsageError(`option ${key}: ${value} is negative (0 disables the bound)`);
  }
  const { min_evals, max_evals, max_N } = merged;
  if (compat) {
    if (min_evals && max_evals && min_evals >= max_evals) {
      throw new UsageError(`option min_evals: ${min_evals} is not below max_evals ${max_evals} (weightwatcher: params not valid)`);
    }
    if (max_evals < -1) throw new UsageError(`option max_evals: ${max_evals} is below -1 (weightwatcher: params not valid)`);
    if (max_N < max_evals) {
      throw new UsageError(`option max_N: ${max_N} is below max_evals ${max_evals} (weightwatcher: params not valid; the default mode accepts it)`);
    }
    if (max_N < min_evals) throw new UsageError(`option max_N: ${max_N} is below min_evals ${min_evals} (weightwatcher: params not valid)`);
  } else if (min_evals && max_evals && min_evals > max_evals) {
    throw new UsageError(`option min_evals: ${min_evals} is above max_evals ${max_evals}; no layer could be analyzed`);
  }
  if (typeof merged.tolerance !== "number" || !Number.isFinite(merged.tolerance) || merged.tolerance < 0) {
    throw new UsageError(`option tolerance: ${JSON.stringify(merged.tolerance)} is not a finite number >= 0`);
  }
  if (merged.xmax !== null && merged.xmax !== "force" && (typeof merged.xmax !== "number" || !Number.isInteger(merged.xmax) || merged.xmax === 0)) {
    throw new UsageError(`option xmax: ${JSON.stringify(merged.xmax)} is not null, "force" or a non-zero integer (the number of largest eigenvalues to leave out of the fit)`);
  }
  validateFitOptions(merged, compat);
  validateAnalysisOptions(merged, compat);
  for (const key of ["pool", "conv2d_norm"] as const) {
    if (typeof merged[key] !== "boolean") throw new UsageError(`option ${key}: ${JSON.stringify(merged[key])} is not true or false`);
  }
  for (const entry of merged.layers) {
    if (typeof entry === "number" ? !Number.isInteger(entry) : typeof entry !== "string") {
      throw new UsageError(`option layers: ${JSON.stringify(entry)} is not a layer name, type or integer id`);
    }
  }
  if (compat) {
    const ids = merged.layers.filter((e): e is number => typeof e === "number");
    if (ids.some((id) => id < 0) && ids.some((id) => id >= 0)) {
      throw new UsageError(`option layers: positive and negative ids mixed (weightwatcher: params not valid)`);
    }
  }
  return merged;
}

const FIT_ALIASES: Readonly<Record<string, AnalyzeOptions["fit"]>> = {
  PL: "PL", power_law: "PL", TPL: "TPL", truncated_power_law: "TPL", E_TPL: "E_TPL",
};

/**
 * fit, pl_package, xmin_max, fit_diagnostics, min_reliable_evals (normalizes fit's long names).
 * weightwatcher accepts TPL, E_TPL and xmax='force' only with pl_package='powerlaw' ("params not
 * valid", §2.4); the compat modes refuse the same, the default mode runs them (§10.8, §15.35).
 */
function validateFitOptions(merged: AnalyzeOptions, compat: boolean): void {
  const fit = FIT_ALIASES[merged.fit as string];
  if (fit === undefined) throw new UsageError(`option fit: ${JSON.stringify(merged.fit)} is not one of PL, TPL, E_TPL (or power_law, truncated_power_law)`);
  merged.fit = fit;
  if (merged.pl_package !== "ww" && merged.pl_package !== "powerlaw") {
    throw new UsageError(`option pl_package: ${JSON.stringify(merged.pl_package)} is not "ww" or "powerlaw"`);
  }
  if (compat && merged.pl_package === "ww" && merged.fit !== "PL") {
    throw new UsageError(`option fit: ${merged.fit} needs pl_package "powerlaw" in weightwatcher-compatible mode (weightwatcher: params not valid; the default mode accepts it)`);
  }
  if (compat && merged.pl_package === "ww" && merged.xmax === "force") {
    throw new UsageError(`option xmax: "force" needs pl_package "powerlaw" in weightwatcher-compatible mode (weightwatcher: params not valid; the default mode accepts it)`);
  }
  if (merged.fit === "E_TPL" && merged.fix_fingers === "clip_xmax") {
    throw new UsageError(`option fit: E_TPL searches xmin near the ESD peak (fix_fingers xmin_peak) and cannot be combined with fix_fingers clip_xmax`);
  }
  if (merged.xmin_max !== null && !(typeof merged.xmin_max === "number" && Number.isFinite(merged.xmin_max) && merged.xmin_max > 0)) {
    throw new UsageError(`option xmin_max: ${JSON.stringify(merged.xmin_max)} is not null or a positive number (an eigenvalue)`);
  }
  if (typeof merged.fit_diagnostics !== "boolean") {
    throw new UsageError(`option fit_diagnostics: ${JSON.stringify(merged.fit_diagnostics)} is not true or false`);
  }
  const minReliable = merged.min_reliable_evals;
  if (typeof minReliable !== "number" || !Number.isInteger(minReliable) || minReliable < 0) {
    throw new UsageError(`option min_reliable_evals: ${JSON.stringify(minReliable)} is not a non-negative integer`);
  }
}

/**
 * weightwatcher options alphawatch refuses in every mode (spec §10.8), with the reason. A falsy
 * value (the option turned off) is accepted and dropped.
 */
export const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  add_biases: "add_biases is not supported: weightwatcher 0.7.5.5 has no such analyze() argument and never combines biases with the weights",
  fft: "fft is not supported: weightwatcher 0.7.5.5 crashes on it (a misspelt attribute) and its authors call it probably not useful",
  conv2d_fft: "conv2d_fft is not supported: it is deprecated in weightwatcher, whose 0.7.5.5 crashes on every conv2d layer with it",
  stacked: "stacked is not supported: an experimental weightwatcher option that crashes on some models (no layer to stack, a zero-MAD column)",
  intra: "intra is not supported: an experimental weightwatcher option whose layer pairing silently drops most layers",
};

function refuseUnsupported(options: Partial<AnalyzeOptions>): Partial<AnalyzeOptions> {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const reason = REFUSED_OPTIONS[key];
    if (reason === undefined) rest[key] = value;
    else if (value !== undefined && value !== false && value !== null) throw new UsageError(`option ${reason}`);
  }
  return rest as Partial<AnalyzeOptions>;
}

/**
 * randomize, seed, mp_fit, fix_fingers, max_fingers, finger_thresh, detX, inverse, glorot_fix,
 * channels, start_ids, svd_method, ww2x (turned into pool false). Each is checked on its own;
 * weightwatcher's refusal of an integer xmax with fix_fingers (§2.4) holds in every mode (the two
 * ask for contradictory clipping).
 */
function validateAnalysisOptions(merged: AnalyzeOptions, compat: boolean): void {
  for (const key of ["randomize", "mp_fit", "detX", "inverse", "glorot_fix", "ww2x", "vectors"] as const) {
    if (typeof merged[key] !== "boolean") throw new UsageError(`option ${key}: ${JSON.stringify(merged[key])} is not true or false`);
  }
  // weightwatcher refuses the pair ("params not valid"): eigenvectors of 1/λ are those of λ, so
  // the localization columns would describe the uninverted spectrum's split (spec §2.4, §15.10).
  if (merged.inverse && merged.vectors) throw new UsageError("options inverse and vectors cannot be combined (the eigenvector split follows the uninverted fit)");
  if (!Number.isInteger(merged.seed) || merged.seed < 0 || merged.seed > 0xffffffff) {
    throw new UsageError(`option seed: ${JSON.stringify(merged.seed)} is not an integer from 0 to 4294967295`);
  }
  if (merged.fix_fingers !== false && merged.fix_fingers !== "clip_xmax" && merged.fix_fingers !== "xmin_peak") {
    throw new UsageError(`option fix_fingers: ${JSON.stringify(merged.fix_fingers)} is not false, "clip_xmax" or "xmin_peak"`);
  }
  if (merged.fix_fingers !== false && typeof merged.xmax === "number") {
    throw new UsageError(`option xmax: an integer xmax (${merged.xmax}) cannot be combined with fix_fingers ${merged.fix_fingers}${compat ? " (weightwatcher: params not valid)" : ""}`);
  }
  if (!Number.isInteger(merged.max_fingers) || merged.max_fingers < 1) {
    throw new UsageError(`option max_fingers: ${JSON.stringify(merged.max_fingers)} is not an integer >= 1`);
  }
  if (typeof merged.finger_thresh !== "number" || !Number.isFinite(merged.finger_thresh) || merged.finger_thresh < 0) {
    throw new UsageError(`option finger_thresh: ${JSON.stringify(merged.finger_thresh)} is not a finite number >= 0`);
  }
  if (merged.channels !== null && merged.channels !== "first" && merged.channels !== "last") {
    throw new UsageError(`option channels: ${JSON.stringify(merged.channels)} is not null, "first" (kh, kw, in, out) or "last" (out, in, kh, kw)`);
  }
  if (!Number.isInteger(merged.start_ids) || merged.start_ids < 0) {
    throw new UsageError(`option start_ids: ${JSON.stringify(merged.start_ids)} is not an integer >= 0`);
  }
  if (merged.svd_method !== "fast" && merged.svd_method !== "accurate") {
    throw new UsageError(`option svd_method: ${JSON.stringify(merged.svd_method)} is not "fast" or "accurate"`);
  }
  // weightwatcher's deprecated ww2x is pool=False (§2.7, §15.30).
  if (merged.ww2x) merged.pool = false;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
