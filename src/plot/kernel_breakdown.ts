/**
 * `kernel_breakdown`: where the GPU time goes. One block per GPU series (with several
 * configurations, each headed by its configuration in words), one bar per sequence
 * length: the bar is the summed kernel time of a forward normalised to 100 %, split into stages in
 * pipeline order, each segment labelled with its mean milliseconds; the sum and the wall clock are
 * written beside the bar. Without GPU series the figure says so.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import {
  configurationLabel,
  configurationOf,
  hasSeveralConfigurations,
  seriesByConfiguration,
} from "../analysis/configurations.ts";
import type { Configuration } from "../configuration.ts";
import type { PointResult, ProfileResults, SeriesResult } from "../results.ts";
import { formatMs, formatSeqLen } from "./axes.ts";
import { adapterLine, environmentLine, orderedSeries } from "./figure_data.ts";
import type { FigureFonts, TextMeasure } from "./fonts.ts";
import { type LegendItem, svgLegend, wrapText } from "./legend.ts";
import { element, plotSvgMarkup, svgDocument, textElement } from "./svg_document.ts";
import {
  FONT_SIZES,
  seriesStyle,
  sortStages,
  stageColor,
  stageLabel,
  TEXT_COLORS,
} from "./theme.ts";

/** Width of the figure in SVG pixels (the PNG is twice this). */
export const KERNEL_FIGURE_WIDTH = 1000;

const OUTER_MARGIN = 24;
const ROW_HEIGHT = 34;
const MARGINS = { top: 4, bottom: 40, left: 92 } as const;
/** room right of the bars for the sums, at least */
const MIN_MARGIN_RIGHT = 150;
const PLOT_WIDTH = KERNEL_FIGURE_WIDTH - 2 * OUTER_MARGIN;
const BAR_LABEL_SIZE = 10.5;
const BLOCK_GAP = 18;

/** One bar segment: a stage's share of one forward's summed kernel time. */
interface Segment {
  row: string;
  stage: string;
  x1: number;
  x2: number;
  ms: number;
}

/** Mean milliseconds per stage of a point: its summaries, else the mean of its samples. */
export function stageMeansMs(point: PointResult, stageCount: number): number[] | undefined {
  if (point.kernelMsSummary !== undefined && point.kernelMsSummary.length === stageCount) {
    return point.kernelMsSummary.map((summary) => summary.mean);
  }
  const runs = point.kernelMs?.filter((row) => row.length === stageCount) ?? [];
  if (runs.length === 0) return undefined;
  return Array.from(
    { length: stageCount },
    (_, stage) => runs.reduce((sum, row) => sum + row[stage]!, 0) / runs.length,
  );
}

/** Readable text on a fill: white on dark colours, near-black on light ones. */
function _textColorOn(fill: string): string {
  const channel = (i: number) => parseInt(fill.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
  const linear = (c: number) => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const luminance = 0.2126 * linear(channel(0)) + 0.7152 * linear(channel(1)) +
    0.0722 * linear(channel(2));
  return luminance < 0.25 ? "#ffffff" : TEXT_COLORS.main;
}

/** The longest label that fits a segment `widthPx` wide, or "" when none does. */
function _segmentLabel(ms: number, share: number, widthPx: number, measure: TextMeasure): string {
  const milliseconds = formatMs(ms);
  const candidates = [`${milliseconds} (${Math.round(share * 100)}%)`, milliseconds];
  // a bare number reads as milliseconds, the unit of the figure; never drop "µs"
  if (milliseconds.endsWith(" ms")) candidates.push(milliseconds.slice(0, -3));
  return candidates.find((text) => measure.width(text, BAR_LABEL_SIZE) + 8 <= widthPx) ?? "";
}

function _fitText(text: string, widthPx: number, size: number, measure: TextMeasure): string {
  if (measure.width(text, size) <= widthPx) return text;
  let cut = text;
  while (cut.length > 1 && measure.width(`${cut}…`, size) > widthPx) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

/** The text beside a bar: summed kernel time and the forward's wall clock. */
function _sideNote(point: PointResult, kernelTotalMs: number): string {
  const wall = _meanWallMs(point);
  return `Σ kernels ${formatMs(kernelTotalMs)}` +
    (Number.isFinite(wall) ? ` · wall ${formatMs(wall)}` : "");
}

/** Right margin wide enough for every side note of the figure. */
function _marginRight(gpuSeries: readonly SeriesResult[], measure: TextMeasure): number {
  let widest = 0;
  for (const series of gpuSeries) {
    for (const point of series.points) {
      const means = point.status === "ok"
        ? stageMeansMs(point, series.stageNames?.length ?? 0)
        : undefined;
      if (means === undefined) continue;
      const note = _sideNote(point, means.reduce((a, b) => a + b, 0));
      widest = Math.max(widest, measure.width(note, BAR_LABEL_SIZE));
    }
  }
  return Math.max(MIN_MARGIN_RIGHT, Math.ceil(widest + 16));
}

function _rowLabel(n: number): string {
  return `n = ${formatSeqLen(n)}`;
}

function _meanWallMs(point: PointResult): number {
  if (point.wallMsSummary !== undefined) return point.wallMsSummary.mean;
  const samples = point.wallMs.filter(Number.isFinite);
  return samples.length === 0 ? NaN : samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** The block of one GPU series: header text and a Plot of its bars; returns markup and height. */
function _seriesBlock(
  series: SeriesResult,
  /** with several configurations, the one the series measures (named in its header) */
  configuration: Configuration | undefined,
  y: number,
  fonts: FigureFonts,
  marginRight: number,
): { markup: string; height: number } {
  const frameWidth = PLOT_WIDTH - MARGINS.left - marginRight;
  const stages = series.stageNames ?? [];
  const points = [...series.points].sort((a, b) => a.seqLen - b.seqLen);
  const rows = points.map((point) => _rowLabel(point.seqLen));
  const segments: Segment[] = [];
  const barLabels: { row: string; x: number; text: string; fill: string }[] = [];
  const sideNotes: { row: string; text: string }[] = [];
  const gaps: { row: string; text: string }[] = [];
  for (const point of points) {
    const row = _rowLabel(point.seqLen);
    const means = point.status === "ok" ? stageMeansMs(point, stages.length) : undefined;
    const total = means?.reduce((a, b) => a + b, 0) ?? NaN;
    if (means === undefined || !(total > 0)) {
      const why = point.status === "ok"
        ? "no per-stage timings recorded"
        : `${point.status}${point.reason ? `: ${point.reason}` : ""}`;
      gaps.push({ row, text: _fitText(why, frameWidth - 8, BAR_LABEL_SIZE, fonts.regular) });
      continue;
    }
    let cumulative = 0;
    means.forEach((ms, i) => {
      const stage = stages[i]!;
      const x1 = cumulative / total, x2 = (cumulative + ms) / total;
      cumulative += ms;
      segments.push({ row, stage, x1, x2, ms });
      const label = _segmentLabel(ms, ms / total, (x2 - x1) * frameWidth, fonts.regular);
      if (label !== "") {
        barLabels.push({
          row,
          x: (x1 + x2) / 2,
          text: label,
          fill: _textColorOn(stageColor(stage)),
        });
      }
    });
    sideNotes.push({ row, text: _sideNote(point, total) });
  }

  const header = textElement([
    { text: series.label, fill: seriesStyle(series).color, fontWeight: "bold" },
    ...(configuration
      ? [{ text: ` · ${configurationLabel(configuration)}`, fill: TEXT_COLORS.main }]
      : []),
  ], { x: OUTER_MARGIN, y: y + 14, "font-size": 13 });
  const timing = points.some((point) => point.kernelTiming === "none")
    ? "no per-stage times (the adapter has no timestamp queries)"
    : "GPU timestamp queries";
  const runs = Math.max(0, ...points.map((point) => point.kernelMs?.length ?? 0));
  const subheader = textElement(
    `${stages.length} stages · ${timing}${runs > 0 ? ` · mean of ${runs} runs` : ""}`,
    { x: OUTER_MARGIN, y: y + 31, "font-size": FONT_SIZES.key, fill: TEXT_COLORS.muted },
  );
  const plotHeight = MARGINS.top + MARGINS.bottom + Math.max(rows.length, 1) * ROW_HEIGHT;
  const colorDomain = sortStages(stages);
  const plot = plotSvgMarkup({
    width: PLOT_WIDTH,
    height: plotHeight,
    marginTop: MARGINS.top,
    marginRight,
    marginBottom: MARGINS.bottom,
    marginLeft: MARGINS.left,
    x: {
      domain: [0, 1],
      ticks: [0, 0.25, 0.5, 0.75, 1],
      tickFormat: (share: number) => `${Math.round(share * 100)}%`,
      label: "share of the summed kernel time of one forward",
      labelAnchor: "center",
      labelArrow: "none",
      grid: true,
    },
    y: { type: "band", domain: rows, padding: 0.22, label: null, tickSize: 0 },
    color: { domain: colorDomain, range: colorDomain.map(stageColor) },
    marks: [
      Plot.barX(segments, {
        x1: "x1",
        x2: "x2",
        y: "row",
        fill: "stage",
        stroke: "#ffffff",
        strokeWidth: 1,
      }),
      Plot.text(barLabels, {
        x: "x",
        y: "row",
        text: "text",
        fill: (label: { fill: string }) => label.fill,
        fontSize: BAR_LABEL_SIZE,
      }),
      Plot.text(gaps, {
        x: 0,
        y: "row",
        text: "text",
        textAnchor: "start",
        dx: 6,
        fill: TEXT_COLORS.muted,
        fontStyle: "italic",
        fontSize: BAR_LABEL_SIZE,
      }),
      Plot.text(sideNotes, {
        x: 1,
        y: "row",
        text: "text",
        textAnchor: "start",
        dx: 8,
        fill: TEXT_COLORS.main,
        fontSize: BAR_LABEL_SIZE,
      }),
    ],
  }, { x: OUTER_MARGIN, y: y + 40, fontSize: FONT_SIZES.tick });
  return {
    markup: element("g", { "aria-label": series.label }, header + subheader + plot),
    height: 40 + plotHeight,
  };
}

/**
 * The kernel-breakdown figure as an SVG document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFigureFonts } from "./fonts.ts";
 * import { loadResults } from "./load_results.ts";
 *
 * const results = await loadResults("tests/fixtures/results_full.json");
 * const fonts = await loadFigureFonts();
 * const svg = kernelBreakdownSvg(results, fonts);
 * assert(svg.startsWith("<?xml"));
 * ```
 */
export function kernelBreakdownSvg(results: ProfileResults, fonts: FigureFonts): string {
  const width = KERNEL_FIGURE_WIDTH;
  const contentWidth = width - 2 * OUTER_MARGIN;
  // per configuration, then in legend order within each
  const gpuSeries = seriesByConfiguration(results)
    .flatMap((group) => orderedSeries({ ...results, series: group.series }))
    .filter((series) => series.device === "gpu");
  const parts: string[] = [];
  parts.push(textElement("Where the GPU time goes: per-stage kernel time", {
    x: OUTER_MARGIN,
    y: 32,
    "font-size": FONT_SIZES.title,
    "font-weight": "bold",
  }));
  let y: number;
  if (gpuSeries.length === 0) {
    parts.push(textElement(
      "No GPU series in this run, so there are no kernel timings to break down.",
      { x: OUTER_MARGIN, y: 64, "font-size": 13, fill: TEXT_COLORS.main },
    ));
    const devices = results.config.devices.join(",");
    parts.push(textElement(
      `Devices profiled: ${devices}. Run \`deno task profile --devices cpu,gpu\` on a machine with a WebGPU adapter to get this figure.`,
      { x: OUTER_MARGIN, y: 86, "font-size": FONT_SIZES.key, fill: TEXT_COLORS.muted },
    ));
    y = 110;
  } else {
    parts.push(textElement(
      "Each bar: one forward's kernels at 100 %, split by stage in pipeline order; labels give the " +
        "mean time of each stage (bare numbers in ms).",
      { x: OUTER_MARGIN, y: 54, "font-size": FONT_SIZES.subtitle, fill: TEXT_COLORS.muted },
    ));
    const stages = sortStages(gpuSeries.flatMap((series) => series.stageNames ?? []));
    const items: LegendItem[] = stages.map((stage) => ({
      label: stageLabel(stage),
      color: stageColor(stage),
      swatch: true,
    }));
    const legend = svgLegend(items, {
      x: OUTER_MARGIN,
      y: 66,
      maxWidth: contentWidth,
      fontSize: FONT_SIZES.subtitle,
      measure: fonts.regular,
    });
    parts.push(legend.markup);
    y = 66 + legend.height + 14;
    const marginRight = _marginRight(gpuSeries, fonts.regular);
    const several = hasSeveralConfigurations(results);
    for (const series of gpuSeries) {
      const configuration = several ? configurationOf(results, series) : undefined;
      const block = _seriesBlock(series, configuration, y, fonts, marginRight);
      parts.push(block.markup);
      y += block.height + BLOCK_GAP;
    }
  }
  const footerSize = FONT_SIZES.footer;
  const lineHeight = Math.round(footerSize * 1.5);
  y += footerSize;
  for (const paragraph of [environmentLine(results), adapterLine(results)]) {
    for (const line of wrapText(paragraph, contentWidth, footerSize, fonts.regular)) {
      parts.push(textElement(line, {
        x: OUTER_MARGIN,
        y,
        "font-size": footerSize,
        fill: TEXT_COLORS.muted,
      }));
      y += lineHeight;
    }
  }
  return svgDocument(width, Math.ceil(y), parts.join(""));
}
