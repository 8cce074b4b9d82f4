/**
 * Typed errors. Every error alphawatch raises on bad input is one of these, with a message that
 * names the file (or URL) and the problem; front ends map `exitCode` to the process exit code.
 */

export type ErrorKind = "format" | "unsupported" | "budget" | "usage" | "io";

export class AlphawatchError extends Error {
  readonly kind: ErrorKind;
  /** Process exit code the CLI and the Action use for this error (documented in the README). */
  readonly exitCode: number;

  constructor(kind: ErrorKind, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.exitCode = exitCode;
    this.name = new.target.name;
  }
}

/** The bytes do not form a valid file of the format they claim (or of any known format). */
export class FormatError extends AlphawatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("format", message, 1, options);
  }
}

/** A valid file uses something alphawatch does not implement (a dtype, an option, a layout). */
export class UnsupportedError extends AlphawatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unsupported", message, 1, options);
  }
}

/** The work would need more memory than allowed (a header claims more than the budget permits). */
export class BudgetError extends AlphawatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("budget", message, 1, options);
  }
}

/** The caller asked for something invalid (bad option value, conflicting options). */
export class UsageError extends AlphawatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("usage", message, 2, options);
  }
}

/** The source could not be read (missing file, failed HTTP request). */
export class SourceError extends AlphawatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("io", message, 1, options);
  }
}

/** Message of any thrown value, for skip reasons and one-line CLI errors. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
