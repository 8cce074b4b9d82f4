/** `alphawatch series` in-process through cli/main.ts: formats, labels, plots and usage errors. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli as run } from "./cli-in-process.js";
import { hasShared, requireShared, sharedPath } from "./shared.js";

requireShared("the series CLI tests on real checkpoints");

const series = (file: string) => sharedPath("models", "series", file);
const labels = series("index.tsv");
const scratch = mkdtempSync(path.join(tmpdir(), "aw-series-cli-"));

describe.skipIf(!hasShared)("alphawatch series", () => {
  it("JSON over all three families grouped by series has the documented shape", async () => {
    const files = readFileSync(labels, "utf8").trim().split("\n").slice(1).map((line) => series(line.split("\t")[0]!));
    const { code, stdout, stderr } = await run("series", ...files, "--labels", labels, "--group", "series", "--format", "json", "--jobs", "1");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(["schemaVersion", "settings", "checkpoints", "metrics", "ranking", "notes", "target_noise", "groups"]);
    expect(result.schemaVersion).toBe(1);
    expect(result.checkpoints).toHaveLength(20);
    expect(Object.keys(result.checkpoints[0])).toEqual(["file", "summary", "layers", "sha256", "content_id", "group", "target", "test_size"]);
    expect(result.checkpoints[0].content_id).toBe(`sha256:${result.checkpoints[0].sha256}`);
    expect(result.checkpoints[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.checkpoints[0].target).toBe(0.102);
    expect(Object.keys(result.metrics.reliable_alpha)).toEqual([
      "n", "spearman", "spearman_p", "kendall", "kendall_p", "p_method", "slope", "intercept", "r2", "rmse", "direction", "smaller_is_better", "conclusion",
    ]);
    expect(result.ranking.metric).toBe("reliable_alpha");
    expect(result.ranking.best).toBe(series("mlp_batchsize/bs0016.safetensors"));
    expect(result.ranking.order).toHaveLength(20);
    expect(Object.keys(result.groups.by_group)).toEqual(["mlp_epochs", "mlp_batchsize", "mlp_depth"]);
    expect(result.groups.by_group.mlp_depth.noise.within_noise).toBe(true);
    expect(result.groups.by_group.mlp_epochs.metrics.ww_alpha.spearman).toBeCloseTo(1 / 3, 12);
    expect(result.settings).toMatchObject({ min_fit_evals: 50, ranking_metric: "reliable_alpha", significance_level: 0.05, exact_p_max_n: 9, group_column: "series" });
  });

  it("without labels ranks the checkpoints and names the best", async () => {
    const files = ["bs1024", "bs0016", "bs0256"].map((name) => series(`mlp_batchsize/${name}.safetensors`));
    const { code, stdout } = await run("series", ...files, "--jobs", "1");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("3 checkpoints, ranked by reliable_alpha (smaller is better)");
    expect(lines[2]).toMatch(/^rank +file +reliable_alpha +sigma_weighted_alpha +ww_alpha +ww_log_spectral_norm +ww_stable_rank +reliable$/);
    expect(lines[3]).toMatch(/^ +3 +\S+bs1024\.safetensors +2\.8815 +2\.9044 +3\.0117 +0\.5519 +17\.7179 +2\/3$/);
    expect(stdout).toContain(`  - best by reliable_alpha (smaller is better): ${files[1]}\n`);
  });

  it("writes CSV, HTML and SVG plots", async () => {
    const files = ["run_ep0001", "run_ep0005", "run_ep0020", "run_ep0100"].map((name) => series(`mlp_epochs/${name}.safetensors`));
    const plots = path.join(scratch, "plots");
    const html = await run("series", ...files, "--labels", labels, "--format", "html", "--plots", plots, "--jobs", "1");
    expect(html.code).toBe(0);
    expect(html.stdout.startsWith("<!doctype html>")).toBe(true);
    expect(html.stdout.match(/class="aw-plot aw-series-scatter"/g)).toHaveLength(10);
    expect(html.stdout.match(/class="aw-plot aw-series-layers"/g)).toHaveLength(1);
    expect(readdirSync(plots).sort()).toEqual([
      "layers-all_checkpoints.svg", "reliable_alpha.svg", "reliable_alpha_weighted.svg", "reliable_log_alpha_norm.svg", "sigma_weighted_alpha.svg",
      "ww_alpha.svg", "ww_alpha_weighted.svg", "ww_log_alpha_norm.svg", "ww_log_norm.svg", "ww_log_spectral_norm.svg", "ww_stable_rank.svg",
    ]);
    const layersSvg = readFileSync(path.join(plots, "layers-all_checkpoints.svg"), "utf8");
    expect(layersSvg.match(/class="aw-errorbar"/g)).toHaveLength(12);
    const csv = await run("series", ...files.slice(0, 2), "--labels", labels, "--format", "csv", "--jobs", "1");
    const [head, first] = csv.stdout.split("\n");
    expect(head).toBe(
      "file,sha256,test_acc,reliable_alpha,reliable_alpha_weighted,reliable_log_alpha_norm,sigma_weighted_alpha,ww_alpha,ww_alpha_weighted,ww_log_norm,ww_log_spectral_norm,ww_log_alpha_norm,ww_stable_rank,num_layers,num_reliable_layers,num_failed_fits",
    );
    expect(first!.split(",").slice(2, 3)).toEqual(["0.8825"]);
  });

  it("usage errors exit 2 and name the problem", async () => {
    const file = series("mlp_epochs/run_ep0001.safetensors");
    const missing = await run("series", file, "--labels", labels, "--target", "top1");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`alphawatch: ${labels}: --target names column "top1", which the labels do not have (columns: file, series, epoch, batch_size, depth, width, seed, train_acc, test_acc, test_loss, params, arch, test_size)\n`);
    const noLabels = await run("series", file, "--group", "series");
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toBe("alphawatch: --group needs --labels\n");
    const bad = path.join(scratch, "bad.csv");
    writeFileSync(bad, "name,acc\nx,1\n");
    const badLabels = await run("series", file, "--labels", bad);
    expect(badLabels.code).toBe(2);
    expect(badLabels.stderr).toBe(`alphawatch: ${bad}: labels file has no "file" column (header: name, acc)\n`);
  });
});
