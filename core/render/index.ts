/** Renderers: Report / Comparison → Markdown, SVG and HTML strings (no DOM, no eval). */
export { renderReportMarkdown, renderComparisonMarkdown, MARKDOWN_LIMIT, type MarkdownOptions } from "./markdown.js";
export { renderReportHtml, renderComparisonHtml, MAX_ESD_PLOTS } from "./html.js";
export { renderEsdSvg } from "./svg-esd.js";
export { renderTrapSvg } from "./svg-trap.js";
export { renderDepthSvg, renderReportDepthSvg, renderComparisonDepthSvg, type DepthSeries, type DepthPoint } from "./svg-depth.js";
export { formatNumber, formatDelta, escapeXml } from "./format.js";
