/**
 * HTML: one self-contained file (inline CSS, inline SVG plots, a tiny inline script that sorts
 * tables when a header is clicked) that opens offline in any browser. Built as a string.
 */
import type { Comparison, LayerComparison } from "../compare/comparison.js";
import type { LayerRecord, Report, SkippedRecord } from "../report.js";
import { escapeXml, formatBytes, formatDelta, formatNumber, plural } from "./format.js";
import { renderComparisonDepthSvg, renderReportDepthSvg } from "./svg-depth.js";
import { renderEsdSvg } from "./svg-esd.js";
import { renderTrapSvg } from "./svg-trap.js";

/** Above this many layers with eigenvalues, the ESD plots of the first ones only are drawn. */
export const MAX_ESD_PLOTS = 200;

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1a202c;max-width:1400px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#4a5568;margin:4px 0 16px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:bold;font-size:18px}
.verdict-pass{background:#c6f6d5;color:#22543d}.verdict-warn{background:#fefcbf;color:#744210}.verdict-fail{background:#fed7d7;color:#742a2a}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #e2e8f0;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f7fafc;position:sticky;top:0}
td.text,th.text{text-align:left}
td.text{white-space:normal;min-width:120px;max-width:520px}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
tr.fail td{background:#fff5f5} tr.warn td{background:#fffff0}
.plots{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}
figcaption{font-size:12px;color:#4a5568}
`;

/** Sorts a table by the clicked column: numbers numerically (data-value), text alphabetically; no eval. */
const SORT_SCRIPT = `
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("thead th");
  headers.forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[column];
        var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
        var number = raw === "" ? NaN : Number(raw);
        return isNaN(number) ? { text: raw.toLowerCase() } : { number: number };
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), order;
        if (x.number !== undefined && y.number !== undefined) order = x.number - y.number;
        else if (x.number !== undefined) order = -1;
        else if (y.number !== undefined) order = 1;
        else order = x.text < y.text ? -1 : x.text > y.text ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
`;

interface Column<T> {
  title: string;
  text?: boolean;
  /** Cell text. */
  cell(row: T): string;
  /** Sort key when it differs from the text (numbers). */
  value?(row: T): number | null;
}

function htmlTable<T>(id: string, columns: ReadonlyArray<Column<T>>, rows: readonly T[], rowClass?: (row: T) => string): string {
  const head = columns.map((c) => `<th${c.text ? ' class="text"' : ""} scope="col">${escapeXml(c.title)}</th>`).join("");
  const body = rows
    .map((row) => {
      const cls = rowClass?.(row) ?? "";
      const cells = columns
        .map((c) => {
          const value = c.value?.(row);
          const sortKey = value === undefined ? "" : ` data-value="${value === null || !Number.isFinite(value) ? "" : String(value)}"`;
          return `<td${c.text ? ' class="text"' : ""}${sortKey}>${escapeXml(c.cell(row))}</td>`;
        })
        .join("");
      return `<tr${cls === "" ? "" : ` class="${cls}"`}>${cells}</tr>`;
    })
    .join("\n");
  return `<table class="sortable" id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function page(title: string, body: string): string {
  return (
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeXml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body}\n` +
    `<script>${SORT_SCRIPT}</script>\n</body>\n</html>\n`
  );
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

function num(get: (l: LayerRecord) => number | null): Pick<Column<LayerRecord>, "cell" | "value"> {
  return { cell: (l) => formatNumber(get(l)), value: get };
}

const REPORT_COLUMNS: ReadonlyArray<Column<LayerRecord>> = [
  { title: "id", cell: (l) => String(l.layer_id), value: (l) => l.layer_id },
  { title: "layer", text: true, cell: (l) => (l.slice_id === undefined ? l.name : `${l.name}[${l.slice_id}]`) },
  { title: "type", text: true, cell: (l) => l.layer_type },
  { title: "N", cell: (l) => String(l.N), value: (l) => l.N },
  { title: "M", cell: (l) => String(l.M), value: (l) => l.M },
  { title: "num_evals", cell: (l) => String(l.num_evals), value: (l) => l.num_evals },
  { title: "alpha", ...num((l) => l.alpha) },
  { title: "sigma", ...num((l) => l.sigma) },
  { title: "D", ...num((l) => l.D) },
  { title: "xmin", ...num((l) => l.xmin) },
  { title: "num_pl_spikes", cell: (l) => formatNumber(l.num_pl_spikes, 0), value: (l) => l.num_pl_spikes },
  { title: "alpha_weighted", ...num((l) => l.alpha_weighted) },
  { title: "log_spectral_norm", ...num((l) => l.log_spectral_norm) },
  { title: "log_norm", ...num((l) => l.log_norm) },
  { title: "stable_rank", ...num((l) => l.stable_rank) },
  { title: "rand_num_spikes", cell: (l) => (typeof l.rand_num_spikes === "number" ? String(l.rand_num_spikes) : "not measured"), value: (l) => l.rand_num_spikes ?? null },
  { title: "warning", text: true, cell: (l) => l.warning },
];

const SKIPPED_COLUMNS: ReadonlyArray<Column<SkippedRecord & { side?: string }>> = [
  { title: "layer", text: true, cell: (s) => s.name },
  { title: "reason", text: true, cell: (s) => s.reason },
];

function esdFigures(layers: readonly LayerRecord[], label: (l: LayerRecord) => string): string[] {
  return layers
    .filter((l) => (l.evals?.length ?? 0) > 1)
    .slice(0, MAX_ESD_PLOTS)
    .map((l) => figure(renderEsdSvg(l), label(l)));
}

function trapFigures(layers: readonly LayerRecord[], label: (l: LayerRecord) => string): string[] {
  return layers
    .filter((l) => (l.evals?.length ?? 0) > 1 && (l.rand_evals?.length ?? 0) > 1)
    .slice(0, MAX_ESD_PLOTS)
    .map((l) => figure(renderTrapSvg(l), label(l)));
}

function plotSection(title: string, figures: readonly string[], total: number): string {
  if (figures.length === 0) return "";
  const note = total > figures.length ? `<p class="meta">The first ${figures.length} of ${total} layers are drawn.</p>` : "";
  return `<h2>${escapeXml(title)}</h2>${note}<div class="plots">${figures.join("\n")}</div>`;
}

export function renderReportHtml(report: Report): string {
  const s = report.summary;
  const withEvals = report.layers.filter((l) => (l.evals?.length ?? 0) > 1);
  const parts = [
    `<h1>alphawatch report: ${escapeXml(report.source.path)}</h1>`,
    `<p class="meta">${escapeXml(
      `${report.source.format}, ${formatBytes(report.source.size)} · ${plural(s.num_layers, "layer")} analyzed · ` +
        `${plural(report.skipped.length, "layer")} skipped · mean alpha ${formatNumber(s.alpha)} · ` +
        `alphawatch ${report.tool.version}` + (report.source.sha256 === undefined ? "" : ` · sha256 ${report.source.sha256}`),
    )}</p>`,
    `<h2>Alpha along depth</h2>`,
    figure(renderReportDepthSvg(report), "Alpha per layer with ±sigma error bars; shaded: 2 ≤ alpha ≤ 6."),
    `<h2>Layers</h2>`,
    htmlTable("layers", REPORT_COLUMNS, report.layers, (l) => (l.warning === "" ? "" : "warn")),
  ];
  if (report.skipped.length > 0) parts.push(`<h2>Skipped layers</h2>`, htmlTable("skipped", SKIPPED_COLUMNS, report.skipped));
  parts.push(plotSection("Eigenvalue spectra (ESD)", esdFigures(report.layers, (l) => `${l.name}: log-log ESD, power-law fit, xmin`), withEvals.length));
  const withRand = report.layers.filter((l) => (l.rand_evals?.length ?? 0) > 1);
  parts.push(plotSection("Randomized spectra (correlation traps)", trapFigures(report.layers, (l) => `${l.name}: original vs randomized ESD`), withRand.length));
  return page(`alphawatch: ${report.source.path}`, parts.filter((p) => p !== "").join("\n"));
}

const COMPARISON_COLUMNS: ReadonlyArray<Column<LayerComparison>> = [
  { title: "layer", text: true, cell: (l) => (l.base_name === l.name ? l.name : `${l.base_name} → ${l.name}`) },
  { title: "verdict", text: true, cell: (l) => l.verdict + (l.deciding ? "" : " (small)") },
  { title: "alpha base", ...deltaNum((l) => l.changes.alpha.base, false) },
  { title: "alpha head", ...deltaNum((l) => l.changes.alpha.head, false) },
  { title: "Δ alpha", ...deltaNum((l) => l.changes.alpha.delta) },
  { title: "Δ alpha / σ", cell: (l) => formatNumber(l.alpha_z, 1), value: (l) => l.alpha_z },
  { title: "Δ alpha_weighted", ...deltaNum((l) => l.changes.alpha_weighted.delta) },
  { title: "Δ D", ...deltaNum((l) => l.changes.D.delta) },
  { title: "Δ log_spectral_norm", ...deltaNum((l) => l.changes.log_spectral_norm.delta) },
  { title: "Δ log_norm", ...deltaNum((l) => l.changes.log_norm.delta) },
  { title: "Δ stable_rank", ...deltaNum((l) => l.changes.stable_rank.delta) },
  { title: "Δ num_pl_spikes", cell: (l) => formatDelta(l.changes.num_pl_spikes.delta, 0), value: (l) => l.changes.num_pl_spikes.delta },
  {
    title: "Δ rand_num_spikes",
    cell: (l) => (l.changes.rand_num_spikes.base === null && l.changes.rand_num_spikes.head === null ? "not measured" : formatDelta(l.changes.rand_num_spikes.delta, 0)),
    value: (l) => l.changes.rand_num_spikes.delta,
  },
  { title: "warnings", text: true, cell: (l) => [...l.warnings_appeared.map((w) => `+${w}`), ...l.warnings_gone.map((w) => `-${w}`)].join(", ") },
  { title: "why", text: true, cell: (l) => l.findings.map((f) => f.message.replace(`${l.name}: `, "")).join(" ") },
];

function deltaNum(get: (l: LayerComparison) => number | null, signed = true): Pick<Column<LayerComparison>, "cell" | "value"> {
  return { cell: (l) => (signed ? formatDelta(get(l)) : formatNumber(get(l))), value: get };
}

export function renderComparisonHtml(c: Comparison): string {
  const s = c.summary;
  const skipped = [...c.base.skipped.map((r) => ({ ...r, side: "base" })), ...c.head.skipped.map((r) => ({ ...r, side: "head" }))];
  const parts = [
    `<h1>alphawatch compare</h1>`,
    `<p class="meta">base ${escapeXml(c.base.source.path)} → head ${escapeXml(c.head.source.path)}</p>`,
    `<p><span class="verdict verdict-${c.verdict}" id="verdict">${c.verdict.toUpperCase()}</span></p>`,
    `<ul id="reasons">${c.reasons.map((r) => `<li>${escapeXml(r)}</li>`).join("")}</ul>`,
    `<h2>Summary</h2>`,
    `<table id="summary"><thead><tr><th class="text"></th><th>base</th><th>head</th><th>change</th></tr></thead><tbody>` +
      summaryRow("mean alpha (deciding layers)", formatNumber(s.mean_alpha_base), formatNumber(s.mean_alpha_head), formatDelta(s.mean_alpha_delta)) +
      summaryRow("mean alpha (whole report)", formatNumber(c.base.mean_alpha), formatNumber(c.head.mean_alpha), formatDelta(c.base.mean_alpha === null || c.head.mean_alpha === null ? null : c.head.mean_alpha - c.base.mean_alpha)) +
      summaryRow("layers analyzed", String(c.base.num_layers), String(c.head.num_layers), "") +
      summaryRow("layers matched / added / removed", "", `${s.matched} / ${s.added} / ${s.removed}`, "") +
      summaryRow("regressions: failed / warned layers", "", `${s.layers_failed} / ${s.layers_warned}`, "") +
      summaryRow("correlation traps", trapWords(c.base.num_traps), trapWords(c.head.num_traps), "") +
      `</tbody></table>`,
    `<h2>Alpha along depth</h2>`,
    figure(renderComparisonDepthSvg(c), "Alpha per matched layer, base and head, with ±sigma error bars; shaded: 2 ≤ alpha ≤ 6."),
    `<h2>Matched layers</h2>`,
    htmlTable("layers", COMPARISON_COLUMNS, c.layers, (l) => (l.verdict === "pass" ? "" : l.verdict)),
  ];
  if (c.added.length + c.removed.length > 0) {
    const changed = [...c.removed.map((l) => ({ name: l.name, reason: "removed (only in base)" })), ...c.added.map((l) => ({ name: l.name, reason: "added (only in head)" }))];
    parts.push(`<h2>Added and removed layers</h2>`, htmlTable("structure", SKIPPED_COLUMNS, changed));
  }
  if (skipped.length > 0) {
    parts.push(
      `<h2>Skipped layers</h2>`,
      htmlTable("skipped", [{ title: "layer", text: true, cell: (r: (typeof skipped)[number]) => r.name }, { title: "in", text: true, cell: (r) => r.side }, { title: "reason", text: true, cell: (r) => r.reason }], skipped),
    );
  }
  const heads = c.layers.map((l) => l.head);
  const bases = c.layers.map((l) => l.base);
  const esd = c.layers
    .filter((l) => (l.head.evals?.length ?? 0) > 1 || (l.base.evals?.length ?? 0) > 1)
    .slice(0, MAX_ESD_PLOTS / 2)
    .flatMap((l) => [
      ...((l.base.evals?.length ?? 0) > 1 ? [figure(renderEsdSvg(l.base), `base ${l.base_name}`)] : []),
      ...((l.head.evals?.length ?? 0) > 1 ? [figure(renderEsdSvg(l.head), `head ${l.name}`)] : []),
    ]);
  parts.push(plotSection("Eigenvalue spectra (ESD), base and head", esd, [...heads, ...bases].filter((l) => (l.evals?.length ?? 0) > 1).length));
  const traps = [...trapFigures(bases, (l) => `base ${l.name}`), ...trapFigures(heads, (l) => `head ${l.name}`)];
  parts.push(plotSection("Randomized spectra (correlation traps)", traps, traps.length));
  return page(`alphawatch compare: ${c.verdict}`, parts.filter((p) => p !== "").join("\n"));
}

function summaryRow(label: string, base: string, head: string, change: string): string {
  return `<tr><td class="text">${escapeXml(label)}</td><td>${escapeXml(base)}</td><td>${escapeXml(head)}</td><td>${escapeXml(change)}</td></tr>`;
}

function trapWords(count: number | null): string {
  return count === null ? "not measured" : String(count);
}
