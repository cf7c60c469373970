/**
 * The figure font: DejaVu Sans from the `dejavu-fonts-ttf` npm package, read from the local
 * node_modules (no system fonts), and its advance widths, so the layout can measure text exactly as
 * the rasteriser will draw it (legends, wrapped footers, labels that must fit inside a bar).
 *
 * Advance widths come from the font's `cmap` (format 4) and `hmtx` tables; kerning is ignored
 * (a fraction of a pixel per pair at these sizes).
 *
 * @module
 */

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { FONT_FILES } from "./theme.ts";

/** Text measurement in SVG pixels. */
export interface TextMeasure {
  /** width of `text` at `fontSize` px */
  width(text: string, fontSize: number): number;
}

/** The figure fonts: raw bytes for the rasteriser and metrics for the layout. */
export interface FigureFonts {
  regularBytes: Uint8Array;
  boldBytes: Uint8Array;
  regular: TextMeasure;
  bold: TextMeasure;
}

/** The font files could not be found or read. */
export class FontLoadError extends Error {
  override name = "FontLoadError";
}

/**
 * The path of a file of the `dejavu-fonts-ttf` package: through the import map first
 * (`import.meta.resolve`), then Node-style resolution from this module (local node_modules).
 */
export function fontFilePath(fileName: string): string {
  const specifier = `dejavu-fonts-ttf/ttf/${fileName}`;
  const candidates: string[] = [];
  try {
    const url = import.meta.resolve(specifier);
    if (url.startsWith("file:")) candidates.push(fileURLToPath(url));
  } catch {
    // not in the import map: fall through to Node-style resolution
  }
  try {
    candidates.push(createRequire(import.meta.url).resolve(specifier));
  } catch {
    // not installed under node_modules
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // try the next candidate
    }
  }
  throw new FontLoadError(
    `font ${fileName} not found: run \`deno install\` so that npm:dejavu-fonts-ttf is in node_modules`,
  );
}

let fontsPromise: Promise<FigureFonts> | undefined;

/** Load (once) the regular and bold DejaVu Sans faces. */
export function loadFigureFonts(): Promise<FigureFonts> {
  fontsPromise ??= (async () => {
    const [regularBytes, boldBytes] = await Promise.all([
      Deno.readFile(fontFilePath(FONT_FILES.regular)),
      Deno.readFile(fontFilePath(FONT_FILES.bold)),
    ]);
    return {
      regularBytes,
      boldBytes,
      regular: parseAdvanceWidths(regularBytes),
      bold: parseAdvanceWidths(boldBytes),
    };
  })();
  fontsPromise.catch(() => fontsPromise = undefined);
  return fontsPromise;
}

/** Offsets of the tables a TrueType file holds, by tag. */
function _tableOffsets(view: DataView): Map<string, number> {
  const tables = new Map<string, number>();
  const count = view.getUint16(4);
  for (let i = 0; i < count; i++) {
    const record = 12 + 16 * i;
    const tag = String.fromCharCode(
      view.getUint8(record),
      view.getUint8(record + 1),
      view.getUint8(record + 2),
      view.getUint8(record + 3),
    );
    tables.set(tag, view.getUint32(record + 8));
  }
  return tables;
}

/** The offset of the Unicode BMP cmap subtable in format 4. */
function _cmapFormat4(view: DataView, cmap: number): number {
  const count = view.getUint16(cmap + 2);
  for (let i = 0; i < count; i++) {
    const platform = view.getUint16(cmap + 4 + 8 * i);
    const encoding = view.getUint16(cmap + 6 + 8 * i);
    const subtable = cmap + view.getUint32(cmap + 8 + 8 * i);
    const unicode = (platform === 3 && encoding === 1) || platform === 0;
    if (unicode && view.getUint16(subtable) === 4) return subtable;
  }
  throw new FontLoadError("font has no Unicode cmap subtable in format 4");
}

/**
 * Read advance widths from TrueType bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const fonts = await loadFigureFonts();
 * assert(fonts.regular.width("mm", 10) > fonts.regular.width("ii", 10));
 * ```
 */
export function parseAdvanceWidths(bytes: Uint8Array): TextMeasure {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = _tableOffsets(view);
  const head = tables.get("head"), hhea = tables.get("hhea");
  const hmtx = tables.get("hmtx"), cmap = tables.get("cmap");
  if (head === undefined || hhea === undefined || hmtx === undefined || cmap === undefined) {
    throw new FontLoadError("font lacks a head, hhea, hmtx or cmap table");
  }
  const unitsPerEm = view.getUint16(head + 18);
  const horizontalMetrics = view.getUint16(hhea + 34);
  const subtable = _cmapFormat4(view, cmap);
  const segments = view.getUint16(subtable + 6) / 2;
  const endCodes = subtable + 14;
  const startCodes = endCodes + 2 * segments + 2;
  const idDeltas = startCodes + 2 * segments;
  const idRangeOffsets = idDeltas + 2 * segments;

  const glyphOf = (code: number): number => {
    for (let s = 0; s < segments; s++) {
      if (view.getUint16(endCodes + 2 * s) < code) continue;
      const start = view.getUint16(startCodes + 2 * s);
      if (start > code) return 0;
      const delta = view.getUint16(idDeltas + 2 * s);
      const rangeOffsetAt = idRangeOffsets + 2 * s;
      const rangeOffset = view.getUint16(rangeOffsetAt);
      if (rangeOffset === 0) return (code + delta) & 0xffff;
      const glyph = view.getUint16(rangeOffsetAt + rangeOffset + 2 * (code - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
  const advanceOf = (glyph: number): number =>
    view.getUint16(hmtx + 4 * Math.min(glyph, horizontalMetrics - 1));

  const cache = new Map<number, number>();
  const emWidth = (code: number): number => {
    let width = cache.get(code);
    if (width === undefined) {
      // outside the BMP (not in a format 4 cmap): assume a full em
      width = code > 0xffff ? 1 : advanceOf(glyphOf(code)) / unitsPerEm;
      cache.set(code, width);
    }
    return width;
  };
  return {
    width(text: string, fontSize: number): number {
      let ems = 0;
      for (const character of text) ems += emWidth(character.codePointAt(0)!);
      return ems * fontSize;
    },
  };
}
