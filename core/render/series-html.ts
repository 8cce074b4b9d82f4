/**
 * HTML page of a series: notes and warnings first, the checkpoint table, how each metric tracks
 * the target (pooled and per group), the scatter plots and the per-layer alpha charts. One
 * self-contained file, no script.
 */
import { SERIES_METRICS, type SeriesMetric } from "../series/checkpoint-summary.js";
import type { SeriesCheckpoint, SeriesResult, SetAnalysis } from "../series/analyze-series.js";
import type { MetricAssociation } from "../series/metric-association.js";
import { escapeXml, formatNumber } from "./format.js";
import { groupNames, renderSeriesScatterSvg } from "./series-scatter.js";
import { renderSeriesLayersSvg } from "./series-layers.js";

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1a202c;max-width:1400px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:#4a5568;margin:4px 0 16px}
ul.notes li.warning{color:#742a2a;font-weight:bold}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #e2e8f0;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f7fafc}
td.text,th.text{text-align:left}
td.wrap{white-space:normal;text-align:left;min-width:240px;max-width:560px}
tr.best td{background:#f0fff4}
.plots{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}
figcaption{font-size:12px;color:#4a5568}
`;

function table(
  head: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  textColumns: ReadonlySet<number>,
  wrapColumns: ReadonlySet<number> = new Set(),
  rowClass?: (i: number) => string,
): string {
  const th = head.map((h, i) => `<th${textColumns.has(i) ? ' class="text"' : ""} scope="col">${escapeXml(h)}</th>`).join("");
  const body = rows
    .map((row, r) => {
      const cls = rowClass?.(r) ?? "";
      const cells = row
        .map((cell, i) => `<td${wrapColumns.has(i) ? ' class="wrap"' : textColumns.has(i) ? ' class="text"' : ""}>${escapeXml(cell)}</td>`)
        .join("");
      return `<tr${cls === "" ? "" : ` class="${cls}"`}>${cells}</tr>`;
    })
    .join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function checkpointTable(result: SeriesResult): string {
  const target = result.settings.target;
  const metric = result.settings.ranking_metric;
  const rankOf = new Map(result.ranking.order.map((file, i) => [file, i + 1]));
  const head = ["rank", "file", ...(result.groups ? [result.groups.column] : []), ...(target ? [target.column] : []), ...SERIES_METRICS, "reliable layers"];
  const rows = result.checkpoints.map((c) => [
    String(rankOf.get(c.file) ?? "–"),
    c.file,
    ...(result.groups ? [c.group ?? ""] : []),
    ...(target ? [formatNumber(c.target, 4)] : []),
    ...SERIES_METRICS.map((m) => formatNumber(c.summary[m])),
    `${c.summary.num_reliable_layers} of ${c.summary.num_layers}`,
  ]);
  const texts = new Set([1, ...(result.groups ? [2] : [])]);
  return (
    `<p class="meta">Rank by ${escapeXml(metric)}, smaller is better.</p>` +
    table(head, rows, texts, new Set(), (i) => (result.checkpoints[i]!.file === result.ranking.best ? "best" : ""))
  );
}

function metricRows(metrics: Partial<Record<SeriesMetric, MetricAssociation>>): string[][] {
  return SERIES_METRICS.filter((m) => metrics[m] !== undefined).map((m) => {
    const a = metrics[m]!;
    return [
      m,
      String(a.n),
      formatNumber(a.spearman),
      formatNumber(a.spearman_p),
      formatNumber(a.kendall),
      formatNumber(a.kendall_p),
      formatNumber(a.slope, 4),
      formatNumber(a.r2),
      formatNumber(a.rmse, 4),
      a.conclusion,
    ];
  });
}

const METRIC_HEAD = ["metric", "n", "Spearman", "p", "Kendall τ-b", "p", "slope", "R²", "RMSE", "conclusion"];

function metricTable(metrics: Partial<Record<SeriesMetric, MetricAssociation>>): string {
  return table(METRIC_HEAD, metricRows(metrics), new Set([0]), new Set([9]));
}

function groupSection(name: string, analysis: SetAnalysis): string {
  return (
    `<h3>${escapeXml(name === "" ? "(no group)" : name)}: ${analysis.n} checkpoints</h3>` +
    `<p class="meta">${escapeXml(analysis.noise.explanation)}${analysis.best === null ? "" : ` · best by the ranking metric: ${escapeXml(analysis.best)}`}</p>` +
    metricTable(analysis.metrics)
  );
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

/** The checkpoints of each run: one group each, or all of them when there are no groups. */
export function seriesRuns(result: SeriesResult): Array<{ name: string; checkpoints: SeriesCheckpoint[] }> {
  if (result.groups === undefined) return [{ name: "all checkpoints", checkpoints: result.checkpoints }];
  return groupNames(result).map((name) => ({ name: name === "" ? "(no group)" : name, checkpoints: result.checkpoints.filter((c) => (c.group ?? "") === name) }));
}

export function renderSeriesHtml(result: SeriesResult): string {
  const target = result.settings.target;
  const parts = [
    `<h1>alphawatch series: ${result.checkpoints.length} checkpoints</h1>`,
    `<p class="meta">reliable_* means: layers whose fit succeeded on at least ${result.settings.min_fit_evals} eigenvalues · ` +
      `p-values exact up to n = ${result.settings.exact_p_max_n} · significance level ${result.settings.significance_level}` +
      (target ? ` · target ${escapeXml(target.column)} (${target.better} is better)` : "") +
      `</p>`,
    `<h2>Notes</h2><ul class="notes">` +
      result.notes.map((n) => `<li${n.startsWith("warning:") ? ' class="warning"' : ""}>${escapeXml(n)}</li>`).join("") +
      `</ul>`,
    `<h2>Checkpoints</h2>`,
    checkpointTable(result),
  ];
  if (target !== undefined) {
    parts.push(`<h2>Metrics against ${escapeXml(target.column)}${result.groups ? ": all groups pooled" : ""}</h2>`);
    if (result.target_noise) parts.push(`<p class="meta">${escapeXml(result.target_noise.explanation)}</p>`);
    parts.push(metricTable(result.metrics));
    if (result.groups !== undefined) {
      parts.push(`<h2>Per ${escapeXml(result.groups.column)}</h2>`);
      for (const [name, analysis] of Object.entries(result.groups.by_group)) parts.push(groupSection(name, analysis));
    }
    parts.push(
      `<h2>Plots</h2><div class="plots">` +
        SERIES_METRICS.map((m) => figure(renderSeriesScatterSvg(result, m), `${m} against ${target.column}`)).join("\n") +
        `</div>`,
    );
  }
  parts.push(
    `<h2>Per-layer alpha</h2><div class="plots">` +
      seriesRuns(result)
        .map((run) => figure(renderSeriesLayersSvg(`Per-layer alpha: ${run.name}`, run.checkpoints, result.settings.min_fit_evals), run.name))
        .join("\n") +
      `</div>`,
  );
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>alphawatch series</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${parts.join("\n")}\n</body>\n</html>\n`
  );
}
