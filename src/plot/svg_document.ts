/**
 * Headless SVG: Observable Plot renders into a linkedom document (passed explicitly, never a
 * global), and small helpers write the SVG the figures add around Plot's panels (titles, legends,
 * footers). Output is deterministic: a fixed Plot class name, Plot's counter ids renumbered per
 * figure, and coordinates rounded.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { FONT_FAMILY, TEXT_COLORS } from "./theme.ts";

/** Class Plot puts on its SVG (and scopes its inline stylesheet to, which we drop). */
export const PLOT_CLASS_NAME = "attention-plot";

/** The font-family attribute of every figure: DejaVu Sans, then any sans-serif for SVG viewers. */
export const FONT_FAMILY_ATTRIBUTE = `${FONT_FAMILY}, sans-serif`;

/** A fresh linkedom document for one Plot call. */
export function createPlotDocument(): Document {
  const { document } = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>");
  return document as unknown as Document;
}

/** Where a nested Plot SVG goes in the figure, and its font size. */
export interface PlotPlacement {
  x: number;
  y: number;
  fontSize: number;
}

/**
 * Run Plot headless and return its `<svg>` as markup to nest in a figure at (x, y). Plot's
 * stylesheet (HTML-only CSS that resvg ignores) is dropped and the figure font set on the element.
 */
export function plotSvgMarkup(options: Plot.PlotOptions, placement: PlotPlacement): string {
  const document = createPlotDocument();
  const node = Plot.plot({
    ...options,
    document,
    className: PLOT_CLASS_NAME,
  }) as unknown as Element;
  if (node.tagName.toLowerCase() !== "svg") {
    throw new Error("Plot returned a <figure>: a panel must not use Plot legends or titles");
  }
  for (const style of [...node.querySelectorAll("style")]) style.remove();
  node.removeAttribute("class");
  node.setAttribute("x", formatNumber(placement.x));
  node.setAttribute("y", formatNumber(placement.y));
  node.setAttribute("font-family", FONT_FAMILY_ATTRIBUTE);
  node.setAttribute("font-size", formatNumber(placement.fontSize));
  node.setAttribute("fill", TEXT_COLORS.main);
  return roundCoordinates(node.outerHTML);
}

const GEOMETRY_ATTRIBUTE =
  /(\s(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height|d|transform|points)=")([^"]*)"/g;

/**
 * Round the numbers of geometry attributes to two decimals (a hundredth of a pixel): smaller files,
 * and snapshots that do not hinge on the last bits of a logarithm.
 */
export function roundCoordinates(svg: string): string {
  return svg.replace(
    GEOMETRY_ATTRIBUTE,
    (_, head: string, value: string) =>
      `${head}${value.replace(/-?\d+\.\d{3,}(?:e-?\d+)?/g, (n) => formatNumber(Number(n)))}"`,
  );
}

/**
 * Renumber Plot's counter-based ids (clip paths, markers, patterns), which keep counting across
 * calls in one process, in order of appearance, so the same input gives the same bytes.
 */
export function normalizePlotIds(svg: string): string {
  const renamed = new Map<string, string>();
  return svg.replace(/plot-(clip|marker|pattern)-\d+/g, (id, kind: string) => {
    let name = renamed.get(id);
    if (name === undefined) {
      name = `figure-${kind}-${renamed.size + 1}`;
      renamed.set(id, name);
    }
    return name;
  });
}

/** Escape text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** A coordinate with at most two decimals, no trailing zeros: stable, compact output. */
export function formatNumber(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return Object.is(rounded, -0) ? "0" : String(rounded);
}

/** Attribute values: numbers are rounded, undefined attributes are left out. */
export type Attributes = Record<string, string | number | undefined>;

function _attributes(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) =>
      ` ${name}="${typeof value === "number" ? formatNumber(value) : escapeXml(value!)}"`
    )
    .join("");
}

/** An SVG element as markup; `children` is markup, already escaped. */
export function element(name: string, attributes: Attributes, children?: string): string {
  return children === undefined
    ? `<${name}${_attributes(attributes)}/>`
    : `<${name}${_attributes(attributes)}>${children}</${name}>`;
}

/** A run of text with its own colour or weight inside a `<text>`. */
export interface TextRun {
  text: string;
  fill?: string;
  fontWeight?: "bold";
}

/** A `<text>` of one or more runs. */
export function textElement(
  runs: string | readonly TextRun[],
  attributes: Attributes,
): string {
  const content = typeof runs === "string"
    ? escapeXml(runs)
    : runs.map((run) =>
      run.fill === undefined && run.fontWeight === undefined
        ? escapeXml(run.text)
        : element("tspan", { fill: run.fill, "font-weight": run.fontWeight }, escapeXml(run.text))
    ).join("");
  return element("text", attributes, content);
}

/** The root `<svg>` of a figure: white background, figure font. */
export function svgDocument(width: number, height: number, body: string): string {
  const root = element(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width,
      height,
      viewBox: `0 0 ${formatNumber(width)} ${formatNumber(height)}`,
      "font-family": FONT_FAMILY_ATTRIBUTE,
      fill: TEXT_COLORS.main,
    },
    element("rect", { width, height, fill: "#ffffff" }) + body,
  );
  return normalizePlotIds(`<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`);
}
