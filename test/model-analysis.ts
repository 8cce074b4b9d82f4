/** Analyzes a path the way the CLI does (file, directory or URL), in this thread, for tests. */
import { analyze } from "../core/analyze.js";
import type { AnalyzeOptions, Report } from "../core/report.js";
import { loadSpectralKernel } from "../cli/load-kernel.js";
import { openPath } from "../cli/open-path.js";

export async function analyzeModel(target: string, options: Partial<AnalyzeOptions> = {}): Promise<Report> {
  const model = await openPath(target);
  return analyze(model.source, options, { kernel: await loadSpectralKernel(), openIndex: model.openIndex, hashSource: false });
}
