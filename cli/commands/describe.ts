/** `alphawatch describe FILE`: the layers analyze would analyze, with shapes and types; no eigenvalues. */
import { Command, Option } from "commander";
import { describe, type Description } from "../../core/describe.js";
import type { Io } from "../main.js";
import { openPath } from "../open-path.js";
import { renderTable } from "../output/table.js";
import { addAnalysisOptions, analysisOptions, type AnalysisFlags } from "./analyze.js";
import { stringifyJson } from "../../core/json.js";

export function registerDescribe(program: Command, io: Io): void {
  const command = program
    .command("describe")
    .description("list the layers analyze would analyze (shapes, types, eigenvalue counts) without computing anything")
    .argument("<file>", "checkpoint: a file, a directory or an http(s) URL, as for analyze")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"));
  addAnalysisOptions(command).action(async (file: string, flags: AnalysisFlags & { format: "table" | "json" }) => {
    const model = await openPath(file);
    const description = await describe(model.source, analysisOptions(flags), { openIndex: model.openIndex });
    io.stdout(flags.format === "json" ? stringifyJson(description, 2) + "\n" : formatDescriptionTable(description));
  });
}

/** One line per layer (weightwatcher's describe columns plus dtype and shape), then the skipped tensors. */
export function formatDescriptionTable(description: Description): string {
  const header = ["id", "name", "type", "N", "M", "Q", "rf", "evals", "dtype", "shape"];
  const rows = description.layers.map((l) => [
    String(l.layer_id), l.name, l.layer_type, String(l.N), String(l.M), formatQ(l.Q), String(l.rf),
    String(l.num_evals), l.dtype, l.shape.join("x"),
  ]);
  const align: Array<"left" | "right"> = ["right", "left", "left", "right", "right", "right", "right", "right", "left", "left"];
  const lines = [`${description.source.path} (${description.source.format}): ${description.layers.length} layer${description.layers.length === 1 ? "" : "s"}`];
  if (rows.length > 0) lines.push(renderTable([header, ...rows], align));
  if (description.skipped.length > 0) {
    lines.push("", "skipped:");
    for (const s of description.skipped) lines.push(`  ${s.name}: ${s.reason}`);
  }
  return lines.join("\n") + "\n";
}

function formatQ(q: number): string {
  return Number.isInteger(q) ? String(q) : q.toFixed(3);
}
