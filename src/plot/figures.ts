/**
 * The figures of a profile, rendered headless from the results object: the 2×2
 * `self_attention_profiling` and the per-stage `kernel_breakdown`, each as SVG and PNG (2×, white
 * background, DejaVu Sans from npm). With several configurations the main figure is one row per
 * configuration and each configuration also gets its own 2×2, `self_attention_profiling_<id>`
 * (src/plot/configuration_figures.ts). The same results give the same SVG bytes.
 *
 * @example
 * ```ts
 * import { loadResults } from "./load_results.ts";
 *
 * const results = await loadResults("tests/fixtures/results_full.json");
 * const paths = await writeFigures(results, await Deno.makeTempDir());
 * // self_attention_profiling.png, .svg, kernel_breakdown.png, .svg
 * if (paths.length !== 4) throw new Error(`wrote ${paths}`);
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import type { ProfileResults } from "../results.ts";
import { hasSeveralConfigurations } from "../analysis/configurations.ts";
import {
  configurationFigureName,
  configurationFigureSvg,
  configurationsFigureSvg,
} from "./configuration_figures.ts";
import { type FigureFonts, loadFigureFonts } from "./fonts.ts";
import { kernelBreakdownSvg } from "./kernel_breakdown.ts";
import { type ProfilingFigureOptions, profilingFigureSvg } from "./profiling_figure.ts";
import { rasterizeSvg } from "./rasterize.ts";

/** Both figures, as SVG text and PNG bytes. */
export interface RenderedFigures {
  /** the 2×2 figure, SVG */
  profilingSvg: string;
  /** the 2×2 figure, PNG */
  profilingPng: Uint8Array;
  /** the per-stage figure, SVG */
  kernelBreakdownSvg: string;
  /** the per-stage figure, PNG */
  kernelBreakdownPng: Uint8Array;
  /** with several configurations: each one's own 2×2 figure (file name without extension) */
  perConfiguration: { name: string; svg: string; png: Uint8Array }[];
}

/** The SVG documents of a run: the main figures, and each configuration's with several. */
interface FigureSvgs {
  profilingSvg: string;
  kernelBreakdownSvg: string;
  perConfiguration: { name: string; svg: string }[];
}

/** File names of the figures inside the output folder. */
export const FIGURE_FILE_NAMES = {
  profilingSvg: "self_attention_profiling.svg",
  profilingPng: "self_attention_profiling.png",
  kernelBreakdownSvg: "kernel_breakdown.svg",
  kernelBreakdownPng: "kernel_breakdown.png",
} as const;

/** File names of the per-configuration figures a run of several configurations adds. */
export function configurationFigureFileNames(results: ProfileResults): string[] {
  if (!hasSeveralConfigurations(results)) return [];
  return results.configurations!.flatMap((configuration) => {
    const name = configurationFigureName(configuration);
    return [`${name}.png`, `${name}.svg`];
  });
}

/**
 * Only the SVG documents (no rasterising): what the snapshot tests compare, and what the HTML
 * report inlines (with hover texts on the time panel's points).
 */
export async function renderFigureSvgs(
  results: ProfileResults,
  options: ProfilingFigureOptions = {},
): Promise<FigureSvgs> {
  return _svgs(results, await loadFigureFonts(), options);
}

function _svgs(
  results: ProfileResults,
  fonts: FigureFonts,
  options: ProfilingFigureOptions = {},
): FigureSvgs {
  const several = hasSeveralConfigurations(results);
  return {
    profilingSvg: several
      ? configurationsFigureSvg(results, fonts, options)
      : profilingFigureSvg(results, fonts, options),
    kernelBreakdownSvg: kernelBreakdownSvg(results, fonts),
    perConfiguration: several
      ? results.configurations!.map((configuration) => ({
        name: configurationFigureName(configuration),
        svg: configurationFigureSvg(results, configuration, fonts),
      }))
      : [],
  };
}

/** Render both figures to SVG and PNG. */
export async function renderFigures(results: ProfileResults): Promise<RenderedFigures> {
  const fonts = await loadFigureFonts();
  const svgs = _svgs(results, fonts);
  const perConfiguration = [];
  for (const { name, svg } of svgs.perConfiguration) {
    perConfiguration.push({ name, svg, png: await rasterizeSvg(svg, fonts) });
  }
  return {
    profilingSvg: svgs.profilingSvg,
    profilingPng: await rasterizeSvg(svgs.profilingSvg, fonts),
    kernelBreakdownSvg: svgs.kernelBreakdownSvg,
    kernelBreakdownPng: await rasterizeSvg(svgs.kernelBreakdownSvg, fonts),
    perConfiguration,
  };
}

/**
 * Render both figures and write them into `outDir` (which must exist), each file atomically; all
 * rendering happens before the first write. Returns the paths written.
 */
export async function writeFigures(results: ProfileResults, outDir: string): Promise<string[]> {
  const figures = await renderFigures(results);
  const encoder = new TextEncoder();
  const files: [string, Uint8Array][] = [
    [FIGURE_FILE_NAMES.profilingPng, figures.profilingPng],
    [FIGURE_FILE_NAMES.profilingSvg, encoder.encode(figures.profilingSvg)],
    [FIGURE_FILE_NAMES.kernelBreakdownPng, figures.kernelBreakdownPng],
    [FIGURE_FILE_NAMES.kernelBreakdownSvg, encoder.encode(figures.kernelBreakdownSvg)],
    ...figures.perConfiguration.flatMap(({ name, svg, png }): [string, Uint8Array][] => [
      [`${name}.png`, png],
      [`${name}.svg`, encoder.encode(svg)],
    ]),
  ];
  const paths: string[] = [];
  for (const [name, bytes] of files) {
    const path = join(outDir, name);
    await writeFileAtomic(path, bytes);
    paths.push(path);
  }
  return paths;
}
