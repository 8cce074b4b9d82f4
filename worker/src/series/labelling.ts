/**
 * Labels of a series request, read as `alphawatch series --labels` reads its file: a table with a
 * `file` column, the target column (default test_acc) whose direction and kind follow from its name
 * unless given, an optional group column and an optional `test_size` column.
 */
import { UsageError } from "../../../core/errors.js";
import {
  findLabelRow,
  numericCell,
  parseLabelTable,
  requireColumn,
  type LabelTable,
  type SeriesInput,
  type SeriesTargetOptions,
} from "../../../core/series/index.js";
import type { SeriesRequest } from "./request.js";

/** The name label messages use for the request's labels. */
const LABELS_NAME = "labels";

export const DEFAULT_TARGET = "test_acc";
const LOWER_IS_BETTER = /loss|err|perplex/i;
const PROPORTION = /acc|err/i;

export interface Labelling {
  table: LabelTable;
  target: SeriesTargetOptions;
  group?: string;
  testSizeColumn?: string;
}

export type LabelFields = Pick<SeriesInput, "target" | "group" | "test_size">;

/** Rows given as objects become the table a labels file would give: every value as its text. */
function tableFromRows(rows: ReadonlyArray<Record<string, string | number | null>>): LabelTable {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (!columns.includes("file")) throw new UsageError(`${LABELS_NAME}: the rows have no "file" field`);
  const table: LabelTable = { name: LABELS_NAME, columns, rows: [] };
  rows.forEach((row, i) => {
    const file = row["file"];
    if (typeof file !== "string" || file.trim() === "") {
      throw new UsageError(`${LABELS_NAME}: row ${i + 1} has no "file" text`);
    }
    const cells: Record<string, string> = {};
    for (const column of columns) {
      const value = row[column];
      cells[column] = value === undefined || value === null ? "" : String(value).trim();
    }
    table.rows.push(cells);
  });
  return table;
}

/** Reads the labels and checks the named columns, before any checkpoint is analyzed. */
export function resolveLabelling(request: SeriesRequest): Labelling | undefined {
  if (request.labels === undefined) {
    for (const field of ["target", "group", "test_size", "target_better", "target_kind"] as const) {
      if (request[field] !== undefined) throw new UsageError(`${field} needs labels`);
    }
    return undefined;
  }
  const table = "text" in request.labels ? parseLabelTable(request.labels.text, LABELS_NAME) : tableFromRows(request.labels.rows);
  const column = request.target ?? DEFAULT_TARGET;
  requireColumn(table, column, request.target === undefined ? "the default target (target)" : "target");
  if (request.group !== undefined) requireColumn(table, request.group, "group");
  const target: SeriesTargetOptions = {
    column,
    better: request.target_better ?? (LOWER_IS_BETTER.test(column) ? "lower" : "higher"),
    kind: request.target_kind ?? (PROPORTION.test(column) ? "proportion" : "other"),
  };
  if (request.test_size !== undefined) target.test_size = request.test_size;
  const labelling: Labelling = { table, target };
  if (request.group !== undefined) labelling.group = request.group;
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
