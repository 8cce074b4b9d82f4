/**
 * The CLI flags of weightwatcher's analysis options map onto AnalyzeOptions (flags parsed by
 * commander exactly as `alphawatch analyze` parses them).
 */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addAnalysisOptions, analysisOptions, type AnalysisFlags } from "../cli/commands/analyze.js";

function parse(args: string[]): ReturnType<typeof analysisOptions> {
  const command = addAnalysisOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }));
  command.parse(["node", "alphawatch", ...args]);
  return analysisOptions(command.opts<AnalysisFlags>());
}

describe("analysis option flags", () => {
  it("maps every flag of issue 11 to its option", () => {
    expect(parse([
      "--randomize", "--seed", "42", "--mp-fit", "--fix-fingers", "clip_xmax", "--max-fingers", "4",
      "--fit", "TPL", "--pl-package", "powerlaw", "--xmin-max", "1.5", "--detX", "--inverse", "--glorot-fix",
      "--channels", "first", "--start-ids", "3", "--vectors", "--fit-diagnostics",
    ])).toEqual({
      pool: true, conv2d_norm: true, randomize: true, seed: 42, mp_fit: true, fix_fingers: "clip_xmax",
      max_fingers: 4, fit: "TPL", pl_package: "powerlaw", xmin_max: 1.5, detX: true, inverse: true,
      glorot_fix: true, channels: "first", start_ids: 3, vectors: true, fit_diagnostics: true,
    });
  });

  it("maps the remaining option flags (xmax force, finger threshold, reliability, svd method)", () => {
    expect(parse(["--xmax", "force", "--finger-thresh", "0.5", "--min-reliable-evals", "20", "--svd-method", "accurate"])).toEqual({
      pool: true, conv2d_norm: true, xmax: "force", finger_thresh: 0.5, min_reliable_evals: 20, svd_method: "accurate",
    });
    expect(parse(["--xmax", "-2"])).toMatchObject({ xmax: -2 });
    expect(() => parse(["--xmax", "most"])).toThrow("--xmax must be an integer, got \"most\"");
    expect(() => parse(["--svd-method", "exact"])).toThrow(/accurate/);
  });

  it("leaves options unset when their flags are absent", () => {
    expect(parse([])).toEqual({ pool: true, conv2d_norm: true });
  });

  it("rejects values outside the choices", () => {
    expect(() => parse(["--fix-fingers", "clip"])).toThrow(/clip_xmax/);
    expect(() => parse(["--channels", "middle"])).toThrow(/first/);
    expect(() => parse(["--seed", "x"])).toThrow("--seed must be an integer, got \"x\"");
  });
});
