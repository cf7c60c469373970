/**
 * report.html: the report's blocks (src/report/full_report.ts) as one self-contained page that
 * works offline — the figures inlined as SVG (the time panel's points carry `<title>` hover texts:
 * series, n, mean ± SEM, median), the style inline, no script, nothing loaded from anywhere.
 *
 * @module
 */

import { escapeXml as escapeHtml } from "../plot/svg_document.ts";
import type { ReportBlock } from "./document.ts";

/** The figures' SVG documents, inlined where the blocks place them. */
export type InlineFigures = Record<"profiling" | "kernelBreakdown", string>;

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #222; margin: 0 auto;
  padding: 12px 20px 40px; max-width: 1240px; line-height: 1.4; }
h1 { font-size: 1.5em; margin: 0.3em 0; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
p.setup { color: #555; font-size: 0.9em; margin: 0.2em 0 0.6em; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-size: 0.85em; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; white-space: nowrap; }
th.label, td.label { text-align: left; }
tbody tr:nth-child(even) { background: #f7f7f7; }
li { margin: 0.3em 0; }
`;

/** An SVG document as markup to inline: its XML declaration dropped. */
function inlineSvg(svg: string, alt: string): string {
  const markup = svg.replace(/^<\?xml[^>]*\?>\s*/, "").trim();
  return `<figure role="img" aria-label="${escapeHtml(alt)}">${markup}</figure>`;
}

function blockHtml(block: ReportBlock, figures: InlineFigures): string {
  switch (block.kind) {
    case "heading": {
      const level = block.level ?? 2;
      return `<h${level}>${escapeHtml(block.text)}</h${level}>`;
    }
    case "paragraph":
      return `<p class="setup">${block.lines.map(escapeHtml).join("<br>")}</p>`;
    case "table": {
      const caption = block.caption ? `<caption>${escapeHtml(block.caption)}</caption>` : "";
      const labels = block.labelColumns ?? 1;
      const cell = (text: string, tag: "th" | "td", i: number) =>
        `<${tag}${i < labels ? ' class="label"' : ""}>${escapeHtml(text)}</${tag}>`;
      const row = (cells: readonly string[], tag: "th" | "td") =>
        `<tr>${block.header.map((_, i) => cell(cells[i] ?? "", tag, i)).join("")}</tr>`;
      return `<table>${caption}<thead>${row(block.header, "th")}</thead><tbody>${
        block.rows.map((cells) => row(cells, "td")).join("")
      }</tbody></table>`;
    }
    case "list":
      return `<ul>${
        block.items.map((item) => `<li>${escapeHtml(item).replaceAll("\n", "<br>")}</li>`).join("")
      }</ul>`;
    case "links":
      return `<ul>${
        block.links.map((link) =>
          `<li><a href="${escapeHtml(encodeURI(link.href))}">${escapeHtml(link.text)}</a></li>`
        ).join("")
      }</ul>`;
    case "figure":
      return inlineSvg(figures[block.id], block.alt);
  }
}

/**
 * The page: `title`, then every block; figures inlined from `figures`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const figures = { profiling: "<svg></svg>", kernelBreakdown: "<svg></svg>" };
 * const html = renderHtml("Report", [{ kind: "list", items: ["ok"] }], figures);
 * assert(html.startsWith("<!DOCTYPE html>"));
 * ```
 */
export function renderHtml(
  title: string,
  blocks: readonly ReportBlock[],
  figures: InlineFigures,
): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    ...blocks.map((block) => blockHtml(block, figures)),
    "</body>",
    "</html>",
  ].join("\n") + "\n";
}
