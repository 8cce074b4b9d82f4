/**
 * `alphawatch distances A B`: per layer (paired by name), the Frobenius distance of the weights,
 * the change in alpha and spectral norm, and the overlap of the top-k right singular subspaces.
 */
import { Command, Option } from "commander";
import { distances, DEFAULT_OVERLAP_K, type DistanceReport } from "../../core/distances.js";
import { formatDelta, formatNumber } from "../../core/render/format.js";
import type { ByteSource } from "../../core/formats/byte-source.js";
import type { Io } from "../main.js";
import { loadSpectralKernel } from "../load-kernel.js";
import { openPath } from "../open-path.js";
import { renderTable } from "../output/table.js";
import { addAnalysisOptions, analysisOptions, parseInteger, type AnalysisFlags } from "./analyze.js";
import { stringifyJson } from "../../core/json.js";

export function registerDistances(program: Command, io: Io): void {
  const command = program
    .command("distances")
    .description("how far two checkpoints of one architecture are apart, layer by layer (paired by name): Frobenius distance, change in alpha and spectral norm, top-k singular subspace overlap")
    .argument("<a>", "the first checkpoint (file, directory or http(s) URL)")
    .argument("<b>", "the second checkpoint")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("-k, --k <n>", `singular vectors per compared subspace (default ${DEFAULT_OVERLAP_K}, capped at each layer's M)`, parseInteger("--k"));
  addAnalysisOptions(command).action(async (a: string, b: string, flags: AnalysisFlags & { format: "table" | "json"; k?: number }) => {
    const [modelA, modelB] = [await openPath(a), await openPath(b)];
    const openIndex = (source: ByteSource) => (source === modelA.source ? modelA.openIndex(source) : modelB.openIndex(source));
    const report = await distances(
      modelA.source,
      modelB.source,
      { analysis: analysisOptions(flags), ...(flags.k === undefined ? {} : { k: flags.k }) },
      { kernel: await loadSpectralKernel(), openIndex },
    );
    io.stdout(flags.format === "json" ? stringifyJson(report, 2) + "\n" : formatDistancesTable(report));
  });
}

export function formatDistancesTable(report: DistanceReport): string {
  const header = ["layer", "frobenius", "relative", "alpha a", "alpha b", "Δ alpha", "Δ spectral_norm", `overlap (k)`];
  const rows = report.layers.map((l) => [
    (l.name_a === l.name ? l.name : `${l.name_a} ~ ${l.name}`) + (l.slice_id === undefined ? "" : `#${l.slice_id}`),
    formatNumber(l.frobenius, 4),
    formatNumber(l.frobenius_relative, 4),
    formatNumber(l.alpha_a),
    formatNumber(l.alpha_b),
    formatDelta(l.delta_alpha),
    formatDelta(l.delta_spectral_norm),
    `${formatNumber(l.overlap, 4)} (${l.k})`,
  ]);
  const lines = [`${report.a.path} (${report.a.format}) vs ${report.b.path} (${report.b.format}): ${report.layers.length} paired layer${report.layers.length === 1 ? "" : "s"}`];
  if (rows.length > 0) lines.push(renderTable([header, ...rows], ["left", "right", "right", "right", "right", "right", "right", "right"]));
  for (const l of report.layers) for (const note of l.notes ?? []) lines.push(`  ${l.name}: ${note}`);
  if (report.only_in_a.length > 0) lines.push(`only in a: ${report.only_in_a.join(", ")}`);
  if (report.only_in_b.length > 0) lines.push(`only in b: ${report.only_in_b.join(", ")}`);
  lines.push(`method: ${report.method.frobenius}; ${report.method.overlap}`);
  return lines.join("\n") + "\n";
}
