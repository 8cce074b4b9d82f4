/**
 * The `alphawatch` command line. Exit codes (documented in the README):
 *   0 success (compare: pass or warn)   1 a file could not be read or analyzed
 *   2 bad usage                          3 compare verdict "fail"
 */
import { Command, CommanderError } from "commander";
import { AlphawatchError, describeError } from "../core/errors.js";
import { VERSION } from "../core/version.js";
import { registerAnalyze } from "./commands/analyze.js";
import { registerCompare } from "./commands/compare.js";
import { registerDescribe } from "./commands/describe.js";
import { registerDistances } from "./commands/distances.js";
import { registerSeries } from "./commands/series.js";
import { registerUpload } from "./commands/upload.js";
import { closeAllFileSources } from "./file-source.js";

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress is shown only then). */
  interactive: boolean;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY),
};

/** Thrown by a command to end with a given exit code after printing its output. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("alphawatch")
    .description("Judge a trained neural network from its weights alone: per-layer spectral (heavy-tailed) metrics.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run alphawatch --help for usage)");
  registerAnalyze(program, io);
  registerCompare(program, io);
  registerDescribe(program, io);
  registerDistances(program, io);
  registerSeries(program, io);
  registerUpload(program, io);
  return program;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitCode) return error.code;
    if (error instanceof CommanderError) {
      // --help and --version end with exit code 0 through commander's exitOverride.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof AlphawatchError) {
      io.stderr(`alphawatch: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`alphawatch: internal error: ${describeError(error)}\n`);
    if (error instanceof Error && error.stack && process.env["ALPHAWATCH_DEBUG"]) io.stderr(error.stack + "\n");
    return 1;
  } finally {
    await closeAllFileSources();
  }
}
