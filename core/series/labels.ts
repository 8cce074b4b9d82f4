/**
 * Label tables: CSV or TSV text with a header row, a `file` column naming checkpoints, and
 * further columns (test_acc, test_size, series...). Pure text in, rows out; the front end reads the file.
 */
import { UsageError } from "../errors.js";

export interface LabelTable {
  /** Where the table came from, for messages. */
  name: string;
  columns: string[];
  rows: Array<Record<string, string>>;
}

/** Splits one line of a delimited file; CSV fields may be double-quoted ("" is a quote inside). */
function splitRecord(line: string, delimiter: string, where: string): string[] {
  if (delimiter === "\t") return line.split("\t").map((cell) => cell.trim());
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell.trim() === "") {
      quoted = true;
      cell = "";
    } else if (ch === delimiter) {
      cells.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  if (quoted) throw new UsageError(`${where}: unterminated quoted field`);
  cells.push(cell.trim());
  return cells;
}

/** Parses CSV or TSV (a tab in the header line means TSV). The header must have a `file` column. */
export function parseLabelTable(text: string, name: string): LabelTable {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() !== "");
  if (headerIndex < 0) throw new UsageError(`${name}: labels file is empty (expected a header row with a "file" column)`);
  const headerLine = lines[headerIndex]!;
  const delimiter = headerLine.includes("\t") ? "\t" : ",";
  const columns = splitRecord(headerLine, delimiter, `${name} line ${headerIndex + 1}`);
  if (!columns.includes("file")) {
    throw new UsageError(`${name}: labels file has no "file" column (header: ${columns.join(", ")})`);
  }
  const duplicate = columns.find((column, i) => columns.indexOf(column) !== i);
  if (duplicate !== undefined) throw new UsageError(`${name}: column "${duplicate}" appears twice in the header`);
  const rows: Array<Record<string, string>> = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const cells = splitRecord(line, delimiter, `${name} line ${i + 1}`);
    if (cells.length !== columns.length) {
      throw new UsageError(`${name} line ${i + 1}: ${cells.length} fields, but the header has ${columns.length}`);
    }
    const row: Record<string, string> = {};
    columns.forEach((column, k) => (row[column] = cells[k]!));
    if (row["file"] === "") throw new UsageError(`${name} line ${i + 1}: empty "file" field`);
    rows.push(row);
  }
  return { name, columns, rows };
}

/**
 * Rows given as objects (a request body's labels) become the table a labels file would give:
 * every value as its text, a missing or null value as an empty cell. Every row needs a `file` text.
 */
export function labelTableFromRows(rows: ReadonlyArray<Record<string, string | number | null>>, name: string): LabelTable {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  if (!columns.includes("file")) throw new UsageError(`${name}: the rows have no "file" field`);
  const table: LabelTable = { name, columns, rows: [] };
  rows.forEach((row, i) => {
    const file = row["file"];
    if (typeof file !== "string" || file.trim() === "") throw new UsageError(`${name}: row ${i + 1} has no "file" text`);
    const cells: Record<string, string> = {};
    for (const column of columns) {
      const value = row[column];
      cells[column] = value === undefined || value === null ? "" : String(value).trim();
    }
    table.rows.push(cells);
  });
  return table;
}

function normalizePath(file: string): string {
  return file.replaceAll("\\", "/").replace(/^(\.\/)+/, "");
}

function baseName(file: string): string {
  const normalized = normalizePath(file);
  return normalized.slice(normalized.lastIndexOf("/") + 1);
}

/**
 * The label row of a checkpoint: the row whose `file` equals the checkpoint's path, else the row
 * whose `file` is the longest trailing part of it (labels written relative to a folder), else the
 * only row with the same base name. Several equally good rows: UsageError. None: undefined.
 */
export function findLabelRow(checkpoint: string, table: LabelTable): Record<string, string> | undefined {
  const path = normalizePath(checkpoint);
  const exact = table.rows.filter((row) => normalizePath(row["file"]!) === path);
  if (exact.length > 0) return exact.length === 1 ? exact[0] : ambiguous(checkpoint, table, exact);
  const suffix = table.rows.filter((row) => path.endsWith(`/${normalizePath(row["file"]!)}`));
  if (suffix.length > 0) {
    const longest = Math.max(...suffix.map((row) => normalizePath(row["file"]!).length));
    const best = suffix.filter((row) => normalizePath(row["file"]!).length === longest);
    return best.length === 1 ? best[0] : ambiguous(checkpoint, table, best);
  }
  const base = baseName(checkpoint);
  const sameBase = table.rows.filter((row) => baseName(row["file"]!) === base);
  if (sameBase.length === 0) return undefined;
  return sameBase.length === 1 ? sameBase[0] : ambiguous(checkpoint, table, sameBase);
}

function ambiguous(checkpoint: string, table: LabelTable, rows: Array<Record<string, string>>): never {
  throw new UsageError(`${table.name}: ${rows.length} rows match ${checkpoint} (${rows.map((r) => r["file"]).join(", ")}); give paths that tell them apart`);
}

/** A numeric cell: empty → null; anything else must parse as a finite number. */
export function numericCell(row: Record<string, string>, column: string, table: LabelTable): number | null {
  const text = row[column];
  if (text === undefined) throw new UsageError(`${table.name}: no column "${column}" (columns: ${table.columns.join(", ")})`);
  if (text === "" || /^(nan|na|n\/a)$/i.test(text)) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`${table.name}: ${row["file"]}: column "${column}" has "${text}", not a number`);
  return value;
}

export function requireColumn(table: LabelTable, column: string, flag: string): void {
  if (!table.columns.includes(column)) {
    throw new UsageError(`${table.name}: ${flag} names column "${column}", which the labels do not have (columns: ${table.columns.join(", ")})`);
  }
}
