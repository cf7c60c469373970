/**
 * SVG → PNG with resvg (WebAssembly): the wasm is initialised once per process from the package's
 * own `index_bg.wasm`; fonts are exactly the figure fonts (no system fonts), the background white,
 * the pixel density 2×.
 *
 * @module
 */

import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { FigureFonts } from "./fonts.ts";
import { FONT_FAMILY, PNG_SCALE } from "./theme.ts";

const WASM_SPECIFIER = "@resvg/resvg-wasm/index_bg.wasm";

/** The path of resvg's wasm: through the import map, else Node-style from this module. */
function _wasmPath(): string {
  const candidates: string[] = [];
  try {
    const url = import.meta.resolve(WASM_SPECIFIER);
    if (url.startsWith("file:")) candidates.push(fileURLToPath(url));
  } catch {
    // fall through to Node-style resolution
  }
  try {
    candidates.push(createRequire(import.meta.url).resolve(WASM_SPECIFIER));
  } catch {
    // not under node_modules
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // try the next candidate
    }
  }
  throw new Error(
    `${WASM_SPECIFIER} not found: run \`deno install\` so that npm:@resvg/resvg-wasm is in node_modules`,
  );
}

let wasmReady: Promise<void> | undefined;

/** Initialise resvg's wasm (once; later calls share the first). */
export function ensureRasterizer(): Promise<void> {
  wasmReady ??= (async () => await initWasm(await Deno.readFile(_wasmPath())))();
  wasmReady.catch(() => wasmReady = undefined);
  return wasmReady;
}

/** Render an SVG document to PNG bytes at {@link PNG_SCALE}× on white with the figure fonts. */
export async function rasterizeSvg(svg: string, fonts: FigureFonts): Promise<Uint8Array> {
  await ensureRasterizer();
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "zoom", value: PNG_SCALE },
    font: {
      fontBuffers: [fonts.regularBytes, fonts.boldBytes],
      loadSystemFonts: false,
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
