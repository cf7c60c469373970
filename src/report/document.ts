/**
 * A report as data — headings, paragraphs, tables and lists — and its renderings as console text
 * and GitHub-flavoured Markdown. The analysis builds the blocks once (src/report.ts,
 * src/compare/format.ts); every output format renders the same blocks, so the console, report.md
 * and report.html can never disagree.
 *
 * @module
 */

/** A table: the leading columns left-aligned (labels), the others right-aligned (numbers). */
export interface TableBlock {
  /** a table */
  kind: "table";
  /** one line above the table */
  caption?: string;
  /** the column titles */
  header: string[];
  /** the cells, row by row */
  rows: string[][];
  /** how many leading columns are labels (default 1) */
  labelColumns?: number;
}

/** A figure of the output folder: a PNG for Markdown, its SVG inlined in HTML. */
export interface FigureBlock {
  /** a figure */
  kind: "figure";
  /** which figure: the key of the inline SVGs an HTML rendering is given */
  id: "profiling" | "kernelBreakdown";
  /** the alternative text */
  alt: string;
  /** file names in the output folder */
  png: string;
  /** the SVG's file name */
  svg: string;
}

/** One block of a report. */
export type ReportBlock =
  /** level 1–3 (default 2; the console shows the text alone) */
  | { kind: "heading"; text: string; level?: 1 | 2 | 3 }
  | { kind: "paragraph"; lines: string[] }
  | TableBlock
  | { kind: "list"; items: string[] }
  /** links to files beside the report */
  | { kind: "links"; links: { text: string; href: string }[] }
  | FigureBlock;

/** A table as aligned console text: a header, a dashed rule, the rows. */
export function textTable(
  header: readonly string[],
  rows: readonly string[][],
  labelColumns = 1,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    widths.map((width, i) => {
      const cell = cells[i] ?? "";
      return i < labelColumns ? cell.padEnd(width) : cell.padStart(width);
    }).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A cell that cannot break a Markdown table: pipes escaped, line breaks as spaces. */
function markdownCell(text: string): string {
  return text.replaceAll("|", "\\|").replace(/\s*\n\s*/g, " ");
}

/** A GitHub-flavoured Markdown table (every row starts with `|`). */
export function markdownTable(
  header: readonly string[],
  rows: readonly string[][],
  labelColumns = 1,
): string {
  const line = (cells: readonly string[]) =>
    `| ${header.map((_, i) => markdownCell(cells[i] ?? "")).join(" | ")} |`;
  const rule = `| ${header.map((_, i) => (i < labelColumns ? "---" : "--:")).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function textBlock(block: ReportBlock): string {
  switch (block.kind) {
    case "heading":
      return block.text;
    case "paragraph":
      return block.lines.join("\n");
    case "table":
      return (block.caption ? `${block.caption}\n` : "") +
        textTable(block.header, block.rows, block.labelColumns);
    case "list":
      return block.items.map((item) => `- ${item.replaceAll("\n", "\n  ")}`).join("\n");
    case "links":
      return block.links.map((link) => `- ${link.text}: ${link.href}`).join("\n");
    case "figure":
      return `Figure: ${block.alt} (${block.png})`;
  }
}

/**
 * Console text: blocks apart by a blank line, a heading directly above what it heads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const text = renderText([{ kind: "heading", text: "Analysis" }, { kind: "list", items: ["ok"] }]);
 * assert(text === "Analysis\n- ok\n");
 * ```
 */
export function renderText(blocks: readonly ReportBlock[]): string {
  let text = "";
  blocks.forEach((block, i) => {
    if (i > 0) text += blocks[i - 1]!.kind === "heading" ? "\n" : "\n\n";
    text += textBlock(block);
  });
  return text + "\n";
}

function markdownBlock(block: ReportBlock): string {
  switch (block.kind) {
    case "heading":
      return `${"#".repeat(block.level ?? 2)} ${block.text}`;
    case "paragraph":
      // two trailing spaces: a line break inside the paragraph
      return block.lines.join("  \n");
    case "table":
      return (block.caption ? `${block.caption}\n\n` : "") +
        markdownTable(block.header, block.rows, block.labelColumns);
    case "list":
      return block.items.map((item) => `- ${item.replaceAll("\n", "\n  ")}`).join("\n");
    case "links":
      return block.links.map((link) => `- [${link.text}](${encodeURI(link.href)})`).join("\n");
    case "figure":
      return `![${block.alt}](${encodeURI(block.png)})\n\n[SVG](${encodeURI(block.svg)})`;
  }
}

/** GitHub-flavoured Markdown: tables with a caption paragraph above, blocks apart by a blank line. */
export function renderMarkdown(blocks: readonly ReportBlock[]): string {
  return blocks.map(markdownBlock).join("\n\n") + "\n";
}
