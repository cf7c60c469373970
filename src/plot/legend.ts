/**
 * Legends drawn as SVG (Plot's categorical legends are HTML, which a rasteriser cannot draw):
 * a row of keys — a line sample, a marker or a filled swatch, then the label — that wraps to the
 * width it is given, measured with the real font metrics.
 *
 * @module
 */

import type { TextMeasure } from "./fonts.ts";
import { element, formatNumber, textElement } from "./svg_document.ts";
import type { MarkerShape } from "./theme.ts";
import { TEXT_COLORS } from "./theme.ts";

/** One key of a legend. */
export interface LegendItem {
  label: string;
  color: string;
  /** a line sample through the key (solid or dashed) */
  line?: "solid" | "dashed";
  /** a marker on the key, as the series' points are drawn */
  marker?: MarkerShape;
  /** a filled square, as bars or areas are drawn */
  swatch?: boolean;
}

/** A laid-out legend. */
export interface LegendLayout {
  markup: string;
  width: number;
  height: number;
}

/** Dash pattern of theoretical / guide lines, shared with the panels. */
export const DASH_PATTERN = "5,3";

/** Marker radius of the series' points (Plot `r`), shared with the panels. */
export const MARKER_RADIUS = 3.5;

/**
 * A marker path centred on (x, y) with the area of a circle of radius `r` (d3-shape's symbols, so
 * it matches Plot's dots).
 */
export function markerPath(shape: MarkerShape, x: number, y: number, r: number): string {
  const area = Math.PI * r * r;
  const f = formatNumber;
  switch (shape) {
    case "circle":
      return `M${f(x - r)},${f(y)}A${f(r)},${f(r)} 0 1,0 ${f(x + r)},${f(y)}A${f(r)},${
        f(r)
      } 0 1,0 ${f(x - r)},${f(y)}Z`;
    case "square": {
      const half = Math.sqrt(area) / 2;
      return `M${f(x - half)},${f(y - half)}h${f(2 * half)}v${f(2 * half)}h${f(-2 * half)}Z`;
    }
    case "triangle": {
      const sqrt3 = Math.sqrt(3);
      const t = -Math.sqrt(area / (sqrt3 * 3));
      return `M${f(x)},${f(y + 2 * t)}L${f(x - sqrt3 * t)},${f(y - t)}L${f(x + sqrt3 * t)},${
        f(y - t)
      }Z`;
    }
    case "diamond": {
      const tan30 = Math.sqrt(1 / 3);
      const dy = Math.sqrt(area / (2 * tan30));
      const dx = dy * tan30;
      return `M${f(x)},${f(y - dy)}L${f(x + dx)},${f(y)}L${f(x)},${f(y + dy)}L${f(x - dx)},${
        f(y)
      }Z`;
    }
    case "cross": {
      const a = Math.sqrt(area / 5) / 2;
      const points = [
        [-3, -1],
        [-1, -1],
        [-1, -3],
        [1, -3],
        [1, -1],
        [3, -1],
        [3, 1],
        [1, 1],
        [1, 3],
        [-1, 3],
        [-1, 1],
        [-3, 1],
      ];
      return `M${points.map(([u, v]) => `${f(x + u! * a)},${f(y + v! * a)}`).join("L")}Z`;
    }
  }
}

const KEY_WIDTH = 26;
const KEY_GAP = 6;
const ITEM_GAP = 18;

/**
 * Lay out a legend at (x, y) (top-left), wrapping within `maxWidth`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFigureFonts } from "./fonts.ts";
 *
 * const fonts = await loadFigureFonts();
 * const legend = svgLegend([{ label: "CPU", color: "#0072b2", line: "solid" }], {
 *   x: 0, y: 0, maxWidth: 400, fontSize: 12, measure: fonts.regular,
 * });
 * assert(legend.markup.includes("CPU"));
 * ```
 */
export function svgLegend(
  items: readonly LegendItem[],
  layout: { x: number; y: number; maxWidth: number; fontSize: number; measure: TextMeasure },
): LegendLayout {
  const { x, y, maxWidth, fontSize, measure } = layout;
  const rowHeight = Math.round(fontSize * 1.6);
  const parts: string[] = [];
  let cursorX = 0, row = 0, widest = 0;
  for (const item of items) {
    const itemWidth = KEY_WIDTH + KEY_GAP + measure.width(item.label, fontSize);
    if (cursorX > 0 && cursorX + itemWidth > maxWidth) {
      row++;
      cursorX = 0;
    }
    const keyX = x + cursorX, centerY = y + row * rowHeight + rowHeight / 2;
    if (item.swatch) {
      parts.push(element("rect", {
        x: keyX + 4,
        y: centerY - 7,
        width: KEY_WIDTH - 8,
        height: 14,
        fill: item.color,
      }));
    }
    if (item.line !== undefined) {
      parts.push(element("line", {
        x1: keyX,
        x2: keyX + KEY_WIDTH,
        y1: centerY,
        y2: centerY,
        stroke: item.color,
        "stroke-width": 2,
        "stroke-dasharray": item.line === "dashed" ? DASH_PATTERN : undefined,
      }));
    }
    if (item.marker !== undefined) {
      parts.push(element("path", {
        d: markerPath(item.marker, keyX + KEY_WIDTH / 2, centerY, MARKER_RADIUS),
        fill: item.color,
      }));
    }
    parts.push(textElement(item.label, {
      x: keyX + KEY_WIDTH + KEY_GAP,
      y: centerY,
      dy: "0.35em",
      "font-size": fontSize,
      fill: TEXT_COLORS.main,
    }));
    cursorX += itemWidth + ITEM_GAP;
    widest = Math.max(widest, cursorX - ITEM_GAP);
  }
  return {
    markup: element("g", { "aria-label": "legend" }, parts.join("")),
    width: widest,
    height: items.length === 0 ? 0 : (row + 1) * rowHeight,
  };
}

/**
 * Break text into lines no wider than `maxWidth` at spaces (a word longer than a line stays whole).
 */
export function wrapText(
  text: string,
  maxWidth: number,
  fontSize: number,
  measure: TextMeasure,
): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    const candidate = current === "" ? word : `${current} ${word}`;
    if (current !== "" && measure.width(candidate, fontSize) > maxWidth) {
      lines.push(current);
      current = word;
    } else {
      current = candidate;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}
