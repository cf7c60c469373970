/**
 * Figures of a run of several configurations. The main `self_attention_profiling` figure becomes
 * small multiples: one row per configuration, labelled in words, with its time panel (crossovers
 * marked) and its memory panel, every row on the same axes so rows compare at a glance. Each
 * configuration also gets the full 2×2 figure of its own series,
 * `self_attention_profiling_<configuration id>`. A run of one configuration draws the seed's figure.
 *
 * @module
 */

import { configurationLabel } from "../analysis/configurations.ts";
import type { Configuration } from "../configuration.ts";
import type { ProfileResults } from "../results.ts";
import { implementationOf } from "../analysis/configurations.ts";
import { crossoverSentences, drawnCrossovers } from "./crossover_marks.ts";
import { adapterLine, environmentLine, notDrawnPhrases, orderedSeries } from "./figure_data.ts";
import type { FigureFonts } from "./fonts.ts";
import { type LegendItem, svgLegend, wrapText } from "./legend.ts";
import {
  COLUMN_GAP,
  memoryPanel,
  OUTER_MARGIN,
  PANEL_HEIGHT,
  PANEL_WIDTH,
  panelMarkup,
  PROFILING_FIGURE_WIDTH,
  profilingFigureSvg,
  timePanel,
} from "./profiling_figure.ts";
import { element, svgDocument, textElement } from "./svg_document.ts";
import { FONT_SIZES, seriesStyle, TEXT_COLORS } from "./theme.ts";

/** Height of a row's heading above its panels, px. */
const ROW_HEADING_HEIGHT = 28;
const ROW_GAP = 22;

/** The results of one configuration only: its series, work and skips. */
export function restrictToConfiguration(
  results: ProfileResults,
  configuration: Configuration,
): ProfileResults {
  const series = results.series.filter((s) => s.configurationId === configuration.id);
  const names = new Set(series.map((s) => s.name));
  return {
    ...results,
    configurations: [configuration],
    series,
    flops: results.flops.filter((f) => f.configurationId === configuration.id),
    skips: results.skips.filter((skip) =>
      names.has(skip.series) || skip.configuration === configuration.id
    ),
  };
}

/** The file name (without extension) of a configuration's own 2×2 figure. */
export function configurationFigureName(configuration: Configuration): string {
  return `self_attention_profiling_${configuration.id}`;
}

function _subtitle(results: ProfileResults, extra: string): string {
  const { runs, warmup, seed } = results.config;
  return [
    extra,
    `${runs} timed runs per point after ${warmup} warm-up`,
    "points: mean ± standard error of the mean",
    `seed ${seed}`,
    ...(results.interrupted ? ["run interrupted: only completed points shown"] : []),
  ].join(" · ");
}

/** The 2×2 figure of one configuration of a run, its crossovers marked. */
export function configurationFigureSvg(
  results: ProfileResults,
  configuration: Configuration,
  fonts: FigureFonts,
): string {
  const own = restrictToConfiguration(results, configuration);
  return profilingFigureSvg(own, fonts, {
    subtitle: _subtitle(results, `${configurationLabel(configuration)} (d_k ${configuration.dK})`),
    crossovers: drawnCrossovers(results, own.series),
  });
}

/** One legend key per implementation (the colour of a series is its implementation's). */
function _legendItems(results: ProfileResults): LegendItem[] {
  const seen = new Set<string>();
  return orderedSeries(results).flatMap((series) => {
    const implementation = implementationOf(series);
    if (seen.has(implementation)) return [];
    seen.add(implementation);
    const style = seriesStyle(series);
    return [{ label: series.label, color: style.color, line: "solid", marker: style.marker }];
  });
}

/** The footer's lines from `top`; returns their markup and the bottom. */
function _footer(
  results: ProfileResults,
  fonts: FigureFonts,
  top: number,
): { markup: string; bottom: number } {
  const size = FONT_SIZES.footer;
  const lineHeight = Math.round(size * 1.5);
  const notDrawn = notDrawnPhrases(results);
  const paragraphs = [
    environmentLine(results),
    adapterLine(results),
    "Each configuration's own 2×2 figure (with FLOPs and time vs FLOPs): " +
    "self_attention_profiling_<configuration id>.png and .svg.",
    ...crossoverSentences(drawnCrossovers(results, results.series)),
    ...(notDrawn.length > 0 ? [`Not drawn (no measurement): ${notDrawn.join("; ")}`] : []),
  ];
  let y = top + size;
  const lines: string[] = [];
  for (const paragraph of paragraphs) {
    for (
      const line of wrapText(
        paragraph,
        PROFILING_FIGURE_WIDTH - 2 * OUTER_MARGIN,
        size,
        fonts.regular,
      )
    ) {
      lines.push(
        textElement(line, { x: OUTER_MARGIN, y, "font-size": size, fill: TEXT_COLORS.muted }),
      );
      y += lineHeight;
    }
  }
  return { markup: element("g", { "aria-label": "environment" }, lines.join("")), bottom: y };
}

/**
 * The main figure of several configurations: one row per configuration (time and memory panels,
 * shared axes), in the order of `configurations`.
 */
export function configurationsFigureSvg(
  results: ProfileResults,
  fonts: FigureFonts,
  options: { pointTitles?: boolean } = {},
): string {
  const configurations = results.configurations ?? [];
  const parts: string[] = [
    textElement("Self-attention across configurations: time and memory against sequence length", {
      x: OUTER_MARGIN,
      y: 32,
      "font-size": FONT_SIZES.title,
      "font-weight": "bold",
    }),
    textElement(_subtitle(results, `${configurations.length} configurations, one row each`), {
      x: OUTER_MARGIN,
      y: 54,
      "font-size": FONT_SIZES.subtitle,
      fill: TEXT_COLORS.muted,
    }),
  ];
  const legend = svgLegend(_legendItems(results), {
    x: OUTER_MARGIN,
    y: 66,
    maxWidth: PROFILING_FIGURE_WIDTH - 2 * OUTER_MARGIN,
    fontSize: FONT_SIZES.subtitle,
    measure: fonts.regular,
  });
  parts.push(legend.markup);
  let y = 66 + Math.max(legend.height, 18) + 16;
  for (const configuration of configurations) {
    const own = restrictToConfiguration(results, configuration);
    const heading = textElement(`${configurationLabel(configuration)}  [${configuration.id}]`, {
      x: OUTER_MARGIN,
      y: y + 16,
      "font-size": 13,
      "font-weight": "bold",
      fill: TEXT_COLORS.main,
    });
    const top = y + ROW_HEADING_HEIGHT;
    const time = timePanel(own, fonts, {
      domainFrom: results,
      crossovers: drawnCrossovers(results, own.series),
      pointTitles: options.pointTitles,
    });
    const memory = memoryPanel(own, fonts, results);
    parts.push(element(
      "g",
      { "aria-label": `configuration ${configuration.id}` },
      heading + panelMarkup(time, OUTER_MARGIN, top) +
        panelMarkup(memory, OUTER_MARGIN + PANEL_WIDTH + COLUMN_GAP, top),
    ));
    y = top + PANEL_HEIGHT + ROW_GAP;
  }
  const footer = _footer(results, fonts, y);
  parts.push(footer.markup);
  return svgDocument(PROFILING_FIGURE_WIDTH, Math.ceil(footer.bottom), parts.join(""));
}
