/**
 * How a series reads its labels, the same for every front end: the target column (test_acc unless
 * named), whether a higher or a lower target is better and whether it is a proportion of test samples
 * (both read from the column's name unless given), an optional group column and an optional
 * `test_size` column. The front ends differ only in where the table comes from and in how their
 * settings are spelled in messages (`--target` on the command line, `target` in a request body).
 */
import { UsageError } from "../errors.js";
import type { SeriesInput, SeriesTargetOptions } from "./analyze-series.js";
import { findLabelRow, numericCell, requireColumn, type LabelTable } from "./labels.js";
import type { TargetBetter } from "./metric-association.js";
import type { TargetKind } from "./noise.js";

/** The target column when none is named: the column name of the project's `index.tsv` convention. */
export const DEFAULT_TARGET = "test_acc";
/** Targets named like these are better when lower (losses, error rates, perplexities). */
const LOWER_IS_BETTER = /loss|err|perplex/i;
/** Targets named like these are fractions of test samples, so the binomial noise rule applies. */
const PROPORTION = /acc|err/i;

/** The label settings a user can give, each optional. */
export interface LabelSettings {
  target?: string | undefined;
  group?: string | undefined;
  test_size?: number | undefined;
  target_better?: TargetBetter | undefined;
  target_kind?: TargetKind | undefined;
}

/** How a front end spells each setting (and the labels themselves) in its messages. */
export type LabelSettingNames = Record<keyof LabelSettings | "labels", string>;

/** The names of a request body: every setting by its field name. */
export const LABEL_FIELD_NAMES: LabelSettingNames = {
  labels: "labels",
  target: "target",
  group: "group",
  test_size: "test_size",
  target_better: "target_better",
  target_kind: "target_kind",
};

const SETTINGS_NEEDING_LABELS = ["target", "group", "test_size", "target_better", "target_kind"] as const;

export interface Labelling {
  table: LabelTable;
  target: SeriesTargetOptions;
  /** Labels column that splits the checkpoints into groups. */
  group?: string;
  /** Labels column holding each row's test-set size, when the labels have one. */
  testSizeColumn?: string;
}

export type LabelFields = Pick<SeriesInput, "target" | "group" | "test_size">;

/** The direction of a target: lower is better for losses, error rates and perplexities. */
export function defaultTargetBetter(column: string): TargetBetter {
  return LOWER_IS_BETTER.test(column) ? "lower" : "higher";
}

/** The kind of a target: accuracies and error rates are proportions of test samples. */
export function defaultTargetKind(column: string): TargetKind {
  return PROPORTION.test(column) ? "proportion" : "other";
}

/**
 * Checks the settings against the labels (every named column must exist) and fills in the
 * defaults; without labels, any label setting is a UsageError. Runs before any checkpoint is
 * analyzed, so a typo costs nothing.
 */
export function resolveLabelling(table: LabelTable | undefined, settings: LabelSettings, names: LabelSettingNames = LABEL_FIELD_NAMES): Labelling | undefined {
  if (table === undefined) {
    for (const setting of SETTINGS_NEEDING_LABELS) {
      if (settings[setting] !== undefined) throw new UsageError(`${names[setting]} needs ${names.labels}`);
    }
    return undefined;
  }
  const column = settings.target ?? DEFAULT_TARGET;
  requireColumn(table, column, settings.target === undefined ? `the default target (${names.target})` : names.target);
  if (settings.group !== undefined) requireColumn(table, settings.group, names.group);
  const target: SeriesTargetOptions = {
    column,
    better: settings.target_better ?? defaultTargetBetter(column),
    kind: settings.target_kind ?? defaultTargetKind(column),
  };
  if (settings.test_size !== undefined) target.test_size = settings.test_size;
  const labelling: Labelling = { table, target };
  if (settings.group !== undefined) labelling.group = settings.group;
  if (table.columns.includes("test_size")) labelling.testSizeColumn = "test_size";
  return labelling;
}

/** The target, group and test-set size of one checkpoint; nothing when no row names it. */
export function labelFields(file: string, labelling: Labelling): LabelFields {
  const { table } = labelling;
  const row = findLabelRow(file, table);
  if (row === undefined) return {};
  const fields: LabelFields = { target: numericCell(row, labelling.target.column, table) };
  if (labelling.group !== undefined) fields.group = row[labelling.group] ?? "";
  if (labelling.testSizeColumn !== undefined) {
    const size = numericCell(row, labelling.testSizeColumn, table);
    if (size !== null && !(Number.isInteger(size) && size > 0)) {
      throw new UsageError(`${table.name}: ${row["file"]}: test_size "${row["test_size"]}" is not a positive integer`);
    }
    if (size !== null) fields.test_size = size;
  }
  return fields;
}
