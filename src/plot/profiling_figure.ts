/**
 * `self_attention_profiling`: the seed's 2×2 figure, rebuilt from the results object.
 *
 * 1. Wall Clock Time vs Sequence Length — log–log, mean ± SEM, fitted exponent per series.
 * 2. Memory Usage vs Sequence Length — measured peak (solid) and theoretical (dashed) bytes.
 * 3. Theoretical FLOPs vs Sequence Length — the total and each stage.
 * 4. Time vs Computational Complexity — mean time against total FLOPs, with dashed guides of
 *    constant throughput and, when the adapter was calibrated, solid lines at the GPU's and the CPU
 *    path's measured matmul ceilings.
 *
 * Each panel is a Plot SVG nested in one figure SVG; titles, keys, legend and footer are drawn
 * around them as SVG text measured with the figure font.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import type { ProfileResults, SeriesResult } from "../results.ts";
import {
  binaryTicks,
  decadeTicks,
  formatBytes,
  formatFlopRate,
  formatFlopsTick,
  formatLogTick,
  formatSeqLen,
  logDomain,
  positiveFinite,
  seqLenTicks,
} from "./axes.ts";
import {
  adapterLine,
  allSeqLens,
  configurationLine,
  environmentLine,
  notDrawnPhrases,
  orderedSeries,
  type SeriesPoint,
  seriesPoints,
  shortName,
} from "./figure_data.ts";
import { crossoverMarks, crossoverSentences, type DrawnCrossover } from "./crossover_marks.ts";
import type { FigureFonts } from "./fonts.ts";
import { DASH_PATTERN, type LegendItem, MARKER_RADIUS, svgLegend, wrapText } from "./legend.ts";
import { element, plotSvgMarkup, svgDocument, textElement, type TextRun } from "./svg_document.ts";
import {
  FONT_SIZES,
  seriesStyle,
  sortStages,
  stageColor,
  stageLabel,
  TEXT_COLORS,
} from "./theme.ts";

/** Width of the figure in SVG pixels (the PNG is twice this). */
export const PROFILING_FIGURE_WIDTH = 1200;

/** Margin around the figure's content, px. */
export const OUTER_MARGIN = 24;
/** Space between the two columns of panels, px. */
export const COLUMN_GAP = 32;
/** Width of one panel, px. */
export const PANEL_WIDTH = (PROFILING_FIGURE_WIDTH - 2 * OUTER_MARGIN - COLUMN_GAP) / 2;
const PANEL_KEY_TOP = 26;
const PANEL_HEADER_HEIGHT = 62;
const PLOT_HEIGHT = 340;
/** Height of one panel with its title and key, px. */
export const PANEL_HEIGHT = PANEL_HEADER_HEIGHT + PLOT_HEIGHT;
const ROW_GAP = 26;
const MARGINS = { top: 12, right: 24, bottom: 44, left: 76 } as const;
const FRAME_WIDTH = PANEL_WIDTH - MARGINS.left - MARGINS.right;
const FRAME_HEIGHT = PLOT_HEIGHT - MARGINS.top - MARGINS.bottom;
const GUIDE_COLOR = "#9a9a9a";
/** solid lines at the calibrated ceilings: darker than the decade guides */
const CEILING_COLOR = "#555555";
const GUIDE_LABEL_SIZE = 10;
const LENGTH_LABEL_SIZE = 10;
/** guides with less than this many pixels inside the frame are left out */
const MIN_GUIDE_LENGTH = 40;
const LINE_WIDTH = 1.8;
/** half-width of an error-bar cap, px */
const CAP_HALF_WIDTH = 4;
/** sideways distance between series at the same x, px */
const DODGE_STEP = 5;

/** One panel: its title, the key under it and the Plot that draws it. */
export interface Panel {
  title: string;
  /** key markup laid out at (x, y) within `width` */
  key(x: number, y: number, width: number): string;
  plot: Plot.PlotOptions;
}

/** A drawable point of one series, with its colour and error-bar ends. */
interface Row extends SeriesPoint {
  lowMs: number;
  highMs: number;
}

function _logAxis(
  domain: [number, number],
  ticks: number[],
  tickFormat: (value: number) => string,
  label: string,
): Plot.ScaleOptions {
  return {
    type: "log",
    domain,
    ticks,
    tickFormat,
    label,
    labelAnchor: "center",
    labelArrow: "none",
    grid: true,
  };
}

/** Multiplicative half-width of `pixels` on a log axis spanning `domain` over `length` px. */
function _logFactor(domain: readonly [number, number], length: number, pixels: number): number {
  return 10 ** (pixels * Math.log10(domain[1] / domain[0]) / length);
}

/**
 * Error bars (± SEM) with caps, line and markers of one series, moved `dodgePx` sideways so the
 * error bars of series at the same x stay apart.
 */
function _seriesMarks(
  series: SeriesResult,
  rows: readonly Row[],
  xOf: (row: Row) => number,
  xDomain: readonly [number, number],
  dodgePx: number,
  title?: (row: Row) => string,
): Plot.Markish[] {
  const color = seriesStyle(series).color;
  const dodge = _logFactor(xDomain, FRAME_WIDTH, dodgePx);
  const x = (row: Row) => xOf(row) * dodge;
  const cap = _logFactor(xDomain, FRAME_WIDTH, CAP_HALF_WIDTH);
  const measured = rows.filter((row) => Number.isFinite(row.meanMs) && Number.isFinite(x(row)));
  const withError = measured.filter((row) => Number.isFinite(row.semMs) && row.semMs > 0);
  const caps = withError.flatMap((row) => [
    { x1: x(row) / cap, x2: x(row) * cap, y: row.lowMs },
    { x1: x(row) / cap, x2: x(row) * cap, y: row.highMs },
  ]);
  return [
    Plot.line(rows, { x, y: "meanMs", stroke: color, strokeWidth: LINE_WIDTH }),
    Plot.ruleX(withError, { x, y1: "lowMs", y2: "highMs", stroke: color, strokeWidth: 1.2 }),
    Plot.ruleY(caps, { x1: "x1", x2: "x2", y: "y", stroke: color, strokeWidth: 1.2 }),
    Plot.dot(measured, {
      x,
      y: "meanMs",
      fill: color,
      symbol: seriesStyle(series).marker,
      r: MARKER_RADIUS,
      title,
    }),
  ];
}

/** A point's hover text: series, n, mean ± SEM and median (an SVG `<title>`). */
function _pointTitle(series: SeriesResult): (row: Row) => string {
  const ms = (value: number) => `${value.toPrecision(4)} ms`;
  return (row) =>
    `${series.label} [${series.name}]\nn = ${row.seqLen}\nmean ± SEM: ${ms(row.meanMs)} ± ${
      ms(row.semMs)
    }\nmedian: ${ms(row.medianMs)}`;
}

/** Options of {@link profilingFigureSvg}. */
export interface ProfilingFigureOptions {
  /** hover texts (`<title>`) on the points of the time panel: for the HTML report */
  pointTitles?: boolean;
  /** the line under the title (default: the run's configuration, `configurationLine`) */
  subtitle?: string;
  /** crossovers to mark on the time panel (a configuration's own figure) */
  crossovers?: readonly DrawnCrossover[];
}

/** Sideways offset of the i-th of `count` series, px. */
function _dodgePx(index: number, count: number): number {
  return (index - (count - 1) / 2) * DODGE_STEP;
}

/** Rows of a series with error-bar ends clamped to the bottom of a log axis. */
function _rows(results: ProfileResults, series: SeriesResult, floor: number): Row[] {
  return seriesPoints(results, series).map((point) => ({
    ...point,
    lowMs: Math.max(point.meanMs - (point.semMs || 0), floor),
    highMs: point.meanMs + (point.semMs || 0),
  }));
}

function _timeDomain(rowsBySeries: readonly Row[][]): [number, number] {
  const values = rowsBySeries.flat().flatMap((row) =>
    Number.isFinite(row.meanMs) ? [row.meanMs, row.meanMs + (row.semMs || 0)] : []
  );
  return logDomain(values, 1.8);
}

/** A key made of coloured text runs, wrapped at run boundaries. */
function _runsKey(
  runs: readonly TextRun[],
  fonts: FigureFonts,
): (x: number, y: number, width: number) => string {
  return (x, y, width) => {
    const size = FONT_SIZES.key;
    const lines: TextRun[][] = [[]];
    let lineWidth = 0;
    for (const run of runs) {
      const measure = run.fontWeight === "bold" ? fonts.bold : fonts.regular;
      const runWidth = measure.width(run.text, size);
      if (lineWidth > 0 && lineWidth + runWidth > width) {
        lines.push([]);
        lineWidth = 0;
        if (run.text.trim() === "") continue;
      }
      lines.at(-1)!.push(run);
      lineWidth += runWidth;
    }
    return lines.map((line, i) =>
      textElement(line, {
        x,
        y: y + i * Math.round(size * 1.5),
        dy: "0.8em",
        "font-size": size,
        fill: TEXT_COLORS.muted,
        "xml:space": "preserve",
      })
    ).join("");
  };
}

function _legendKey(items: LegendItem[], fonts: FigureFonts) {
  return (x: number, y: number, width: number) =>
    svgLegend(items, {
      x,
      y: y - 3,
      maxWidth: width,
      fontSize: FONT_SIZES.key,
      measure: fonts.regular,
    })
      .markup;
}

function _formatExponent(series: SeriesResult): string {
  const fit = series.scaling!;
  const [low, high] = fit.ci95;
  const halfWidth = (high - low) / 2;
  const ci = Number.isFinite(halfWidth) ? ` ± ${halfWidth.toFixed(2)}` : "";
  return `${shortName(series)} ∝ n^${fit.exponent.toFixed(2)}${ci}`;
}

/** What a time panel draws besides its own series. */
export interface TimePanelOptions {
  /** results whose lengths and times set the axes (shared by small multiples); default: its own */
  domainFrom?: ProfileResults;
  /** crossovers of its series with reference series of other configurations, marked on it */
  crossovers?: readonly DrawnCrossover[];
  /** hover texts (`<title>`) on its points: for the HTML report */
  pointTitles?: boolean;
}

/** The time panel: every series' mean ± SEM against n, fitted exponents and crossovers in its key. */
export function timePanel(
  results: ProfileResults,
  fonts: FigureFonts,
  options: TimePanelOptions = {},
): Panel {
  const domainFrom = options.domainFrom ?? results;
  const crossovers = options.crossovers ?? [];
  const pointTitles = options.pointTitles ?? false;
  const seriesList = orderedSeries(results);
  const seqLens = allSeqLens(domainFrom);
  const xDomain = logDomain(seqLens);
  const references = crossovers.map((drawn) => drawn.reference);
  const floorRows = [...orderedSeries(domainFrom), ...references].map((series) =>
    _rows(domainFrom, series, 0)
  );
  const yDomain = _timeDomain(floorRows);
  const rows = seriesList.map((series) => _rows(results, series, yDomain[0]));
  const fitted = seriesList.filter((series) => series.scaling !== undefined);
  const fitLengths = fitted.flatMap((series) => series.scaling!.seqLens);
  const runs: TextRun[] = [];
  if (fitted.length === 0) {
    runs.push({ text: "Fitted exponent: needs two measured lengths with n ≥ 1,000" });
  } else {
    const from = formatSeqLen(Math.min(...fitLengths));
    const anyCi = fitted.some((series) => Number.isFinite(series.scaling!.ci95[0]));
    runs.push({ text: `Fit t ∝ n^k over n ≥ ${from}${anyCi ? " (± 95% CI)" : ""}:` });
    for (const series of fitted) {
      runs.push({ text: "   " });
      runs.push({ text: _formatExponent(series), fill: seriesStyle(series).color });
    }
  }
  return {
    title: "Wall Clock Time vs Sequence Length",
    key: _runsKey(runs, fonts),
    plot: {
      x: _logAxis(
        xDomain,
        seqLenTicks(seqLens, xDomain),
        formatSeqLen,
        "sequence length n (tokens)",
      ),
      y: _logAxis(yDomain, decadeTicks(yDomain), formatLogTick, "time per forward (ms)"),
      marks: [
        Plot.frame({ stroke: "#cccccc" }),
        ...crossoverMarks(
          crossovers,
          (series) => _rows(domainFrom, series, yDomain[0]),
          xDomain,
        ),
        ...seriesList.flatMap((series, i) =>
          _seriesMarks(
            series,
            rows[i]!,
            (row) => row.seqLen,
            xDomain,
            _dodgePx(i, seriesList.length),
            pointTitles ? _pointTitle(series) : undefined,
          )
        ),
      ],
    },
  };
}

/** The memory panel: measured peak and theoretical bytes against n, axes from `domainFrom`. */
export function memoryPanel(
  results: ProfileResults,
  fonts: FigureFonts,
  domainFrom: ProfileResults = results,
): Panel {
  const seriesList = orderedSeries(results);
  const seqLens = allSeqLens(domainFrom);
  const xDomain = logDomain(seqLens);
  const pointsBySeries = seriesList.map((series) => seriesPoints(results, series));
  const yDomain = logDomain(
    orderedSeries(domainFrom).flatMap((series) => seriesPoints(domainFrom, series))
      .flatMap((point) => [point.peakBytes, point.theoreticalBytes]),
    2,
  );
  // A log2 transform on a linear scale: Plot's log scale would drop labels of 4 MiB, 64 MiB, …
  const toExponent = (bytes: number) => bytes > 0 ? Math.log2(bytes) : NaN;
  const marks: Plot.Markish[] = [Plot.frame({ stroke: "#cccccc" })];
  seriesList.forEach((series, i) => {
    const color = seriesStyle(series).color;
    const points = pointsBySeries[i]!;
    marks.push(
      Plot.line(points, {
        x: "seqLen",
        y: "theoreticalBytes",
        stroke: color,
        strokeWidth: 1.4,
        strokeDasharray: DASH_PATTERN,
      }),
      Plot.line(points, { x: "seqLen", y: "peakBytes", stroke: color, strokeWidth: LINE_WIDTH }),
      Plot.dot(points.filter((point) => Number.isFinite(point.peakBytes)), {
        x: "seqLen",
        y: "peakBytes",
        fill: color,
        symbol: seriesStyle(series).marker,
        r: MARKER_RADIUS,
      }),
    );
  });
  return {
    title: "Memory Usage vs Sequence Length",
    key: _legendKey([
      { label: "measured peak of live buffers", color: TEXT_COLORS.muted, line: "solid" },
      { label: "theoretical (from the shapes)", color: TEXT_COLORS.muted, line: "dashed" },
    ], fonts),
    plot: {
      x: _logAxis(
        xDomain,
        seqLenTicks(seqLens, xDomain),
        formatSeqLen,
        "sequence length n (tokens)",
      ),
      y: {
        type: "linear",
        transform: toExponent,
        domain: [toExponent(yDomain[0]), toExponent(yDomain[1])],
        ticks: binaryTicks(yDomain).map(toExponent),
        tickFormat: (exponent: number) => formatBytes(2 ** exponent),
        label: "peak memory of one forward (bytes)",
        labelAnchor: "center",
        labelArrow: "none",
        grid: true,
      },
      marks,
    },
  };
}

function _flopsPanel(results: ProfileResults, fonts: FigureFonts): Panel {
  const work = [...results.flops].sort((a, b) => a.seqLen - b.seqLen);
  const seqLens = allSeqLens(results);
  const xDomain = logDomain(seqLens);
  const stages = sortStages(work.flatMap((at) => Object.keys(at.flopsByStage)));
  const positive = (value: number | undefined) =>
    value !== undefined && Number.isFinite(value) && value > 0 ? value : NaN;
  const yDomain = logDomain(
    work.flatMap((at) => [at.totalFlops, ...Object.values(at.flopsByStage)]),
    2.5,
  );
  const marks: Plot.Markish[] = [Plot.frame({ stroke: "#cccccc" })];
  const items: LegendItem[] = [{ label: "total", color: TEXT_COLORS.main, line: "solid" }];
  // Stages with equal work draw on top of each other: later ones dashed so both stay visible.
  const drawn: number[][] = [];
  for (const stage of stages) {
    const values = work.map((at) => positive(at.flopsByStage[stage]));
    const overlaps = drawn.some((other) =>
      other.every((v, i) => Math.abs(Math.log10(v / values[i]!)) < 0.05)
    );
    drawn.push(values);
    const rows = work.map((at, i) => ({ seqLen: at.seqLen, flops: values[i]! }));
    const color = stageColor(stage);
    marks.push(
      Plot.line(rows, {
        x: "seqLen",
        y: "flops",
        stroke: color,
        strokeWidth: 2.2,
        strokeDasharray: overlaps ? DASH_PATTERN : undefined,
      }),
      Plot.dot(rows.filter((row) => Number.isFinite(row.flops)), {
        x: "seqLen",
        y: "flops",
        fill: color,
        r: 2.5,
      }),
    );
    items.push({ label: stageLabel(stage), color, line: overlaps ? "dashed" : "solid" });
  }
  const totals = work.map((at) => ({ seqLen: at.seqLen, flops: positive(at.totalFlops) }));
  marks.push(
    Plot.line(totals, { x: "seqLen", y: "flops", stroke: TEXT_COLORS.main, strokeWidth: 2.6 }),
    Plot.dot(totals.filter((row) => Number.isFinite(row.flops)), {
      x: "seqLen",
      y: "flops",
      fill: TEXT_COLORS.main,
      r: 3,
    }),
  );
  return {
    title: "Theoretical FLOPs vs Sequence Length",
    key: _legendKey(items, fonts),
    plot: {
      x: _logAxis(
        xDomain,
        seqLenTicks(seqLens, xDomain),
        formatSeqLen,
        "sequence length n (tokens)",
      ),
      y: _logAxis(yDomain, decadeTicks(yDomain), formatFlopsTick, "FLOPs per forward (2 per MAC)"),
      marks,
    },
  };
}

/** A point in frame pixels, from data on two log axes. */
interface ScreenMap {
  (x: number, y: number): [number, number];
}

function _screenMap(
  xDomain: readonly [number, number],
  yDomain: readonly [number, number],
): ScreenMap {
  const decadesX = Math.log10(xDomain[1] / xDomain[0]);
  const decadesY = Math.log10(yDomain[1] / yDomain[0]);
  return (x, y) => [
    Math.log10(x / xDomain[0]) / decadesX * FRAME_WIDTH,
    FRAME_HEIGHT - Math.log10(y / yDomain[0]) / decadesY * FRAME_HEIGHT,
  ];
}

function _distanceToSegment(
  point: readonly [number, number],
  a: readonly [number, number],
  b: readonly [number, number],
): number {
  const [px, py] = point, [ax, ay] = a, [bx, by] = b;
  const lengthSquared = (bx - ax) ** 2 + (by - ay) ** 2;
  const t = lengthSquared === 0
    ? 0
    : Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / lengthSquared));
  return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)));
}

/** A line of constant throughput: a dashed decade guide or a solid calibrated ceiling. */
interface ThroughputGuide {
  /** FLOP/s */
  rate: number;
  text: string;
  line: "solid" | "dashed";
}

/** Distances of a point in frame pixels to the frame's four edges. */
function _frameDistances([x, y]: readonly [number, number]): number[] {
  return [x, FRAME_WIDTH - x, y, FRAME_HEIGHT - y];
}

/** Which side of its guide a label sits on. */
type LabelSide = "above" | "below";

/** Perpendicular offset of a guide's label from its line, px (the text's dy once rotated). */
const LABEL_OFFSETS: Record<LabelSide, number> = { above: -6, below: 7 };

/**
 * Lines of constant throughput (time = FLOPs / rate) across the panel, each labelled where its
 * label lies farthest from the data lines, the ceilings and the labels placed before it.
 */
function _throughputGuides(
  xDomain: readonly [number, number],
  yDomain: readonly [number, number],
  guides: readonly ThroughputGuide[],
  dataLines: readonly (readonly [number, number][])[],
  fonts: FigureFonts,
): Plot.Markish[] {
  const toScreen = _screenMap(xDomain, yDomain);
  const pxPerDecadeX = FRAME_WIDTH / Math.log10(xDomain[1] / xDomain[0]);
  const pxPerDecadeY = FRAME_HEIGHT / Math.log10(yDomain[1] / yDomain[0]);
  const angle = -Math.atan2(pxPerDecadeY, pxPerDecadeX) * 180 / Math.PI;
  const dataSegments: (readonly [readonly [number, number], readonly [number, number]])[] =
    dataLines.flatMap((line) => {
      const screen = line.map(([x, y]) => toScreen(x, y));
      return screen.length === 1
        ? [[screen[0]!, screen[0]!] as const]
        : screen.slice(1).map((end, i) => [screen[i]!, end] as const);
    });
  const segments: { key: number; line: ThroughputGuide["line"]; x: number; y: number }[] = [];
  const labels: {
    x: number;
    y: number;
    text: string;
    line: ThroughputGuide["line"];
    side: LabelSide;
  }[] = [];
  for (const [key, { rate, text, line }] of guides.entries()) {
    const msPerFlop = 1000 / rate; // time (ms) = FLOPs / rate (FLOP/s) × 1000
    const x1 = Math.max(xDomain[0], yDomain[0] / msPerFlop);
    const x2 = Math.min(xDomain[1], yDomain[1] / msPerFlop);
    if (!(x2 > x1)) continue;
    const start = toScreen(x1, x1 * msPerFlop), end = toScreen(x2, x2 * msPerFlop);
    const lengthPx = Math.hypot(end[0] - start[0], end[1] - start[1]);
    const labelPx = fonts.regular.width(text, GUIDE_LABEL_SIZE) + 12;
    if (lengthPx < MIN_GUIDE_LENGTH) continue; // a corner clipped off the frame: noise, not a guide
    segments.push({ key, line, x: x1, y: x1 * msPerFlop }, { key, line, x: x2, y: x2 * msPerFlop });
    if (lengthPx < labelPx + 8) continue;
    // Slide the label along the line; keep the spot farthest from every data line. A ceiling's
    // label may also sit below its line, and is judged by its ends as well as its centre (it is
    // long, and often runs beside a data line of the same slope).
    const direction = [(end[0] - start[0]) / lengthPx, (end[1] - start[1]) / lengthPx] as const;
    const sides: LabelSide[] = line === "solid" ? ["above", "below"] : ["above"];
    const halfText = line === "solid" ? labelPx / 2 - 6 : 0;
    let best = { clearance: -Infinity, x: x1, side: "above" as LabelSide };
    const steps = 24;
    for (const side of sides) {
      // the label's centre line, perpendicular to the guide (dy of the rotated text)
      const offset = line === "solid" ? LABEL_OFFSETS[side] : 0;
      for (let i = 0; i <= steps; i++) {
        const along = (labelPx / 2 + 4 + (lengthPx - labelPx - 8) * i / steps) / lengthPx;
        const x = x1 * (x2 / x1) ** along;
        const [cx, cy] = toScreen(x, x * msPerFlop);
        const center: [number, number] = [cx - direction[1] * offset, cy + direction[0] * offset];
        const samples = [-1, 0, 1].map((t) =>
          [
            center[0] + t * halfText * direction[0],
            center[1] + t * halfText * direction[1],
          ] as const
        );
        const clearance = Math.min(
          Infinity,
          ...(line === "solid" ? samples.flatMap((point) => _frameDistances(point)) : []),
          ...samples.flatMap((point) =>
            dataSegments.map(([a, b]) => _distanceToSegment(point, a, b))
          ),
        );
        if (clearance > best.clearance + 0.5) best = { clearance, x, side };
      }
    }
    if (line === "solid") {
      // the labels placed after it (ceilings come first) keep clear of its line and its label
      const [bx, by] = toScreen(best.x, best.x * msPerFlop);
      const offset = LABEL_OFFSETS[best.side];
      const middle = [bx - direction[1] * offset, by + direction[0] * offset] as const;
      dataSegments.push([start, end], [
        [middle[0] - halfText * direction[0], middle[1] - halfText * direction[1]],
        [middle[0] + halfText * direction[0], middle[1] + halfText * direction[1]],
      ]);
    }
    labels.push({ x: best.x, y: best.x * msPerFlop, text, line, side: best.side });
  }
  const label = (line: ThroughputGuide["line"], side: LabelSide) =>
    Plot.text(labels.filter((at) => at.line === line && at.side === side), {
      x: "x",
      y: "y",
      text: "text",
      rotate: angle,
      dy: LABEL_OFFSETS[side],
      fill: line === "solid" ? TEXT_COLORS.main : TEXT_COLORS.muted,
      stroke: "#ffffff",
      strokeWidth: 3,
      fontSize: GUIDE_LABEL_SIZE,
    });
  return [
    Plot.line(segments.filter((at) => at.line === "dashed"), {
      x: "x",
      y: "y",
      z: "key",
      stroke: GUIDE_COLOR,
      strokeWidth: 1,
      strokeDasharray: DASH_PATTERN,
    }),
    Plot.line(segments.filter((at) => at.line === "solid"), {
      x: "x",
      y: "y",
      z: "key",
      stroke: CEILING_COLOR,
      strokeWidth: 1.2,
    }),
    label("dashed", "above"),
    label("solid", "above"),
    label("solid", "below"),
  ];
}

/** Solid guides at the calibrated matmul ceilings of the GPU and the CPU path, if calibrated. */
function _ceilingGuides(results: ProfileResults): ThroughputGuide[] {
  const calibration = results.calibration;
  if (calibration === undefined) return [];
  const ceilings = [
    { name: "GPU", gflops: calibration.gpu.matmulGflops },
    { name: "CPU", gflops: calibration.cpu.matmulGflops },
  ];
  return ceilings
    .filter(({ gflops }) => Number.isFinite(gflops) && gflops > 0)
    .map(({ name, gflops }) => ({
      rate: gflops * 1e9,
      text: `${name} matmul ceiling ${formatFlopRate(gflops * 1e9)} (calibrated)`,
      line: "solid",
    }));
}

/** Labels along the top of a log x axis, leaving out any that would touch the one before. */
function _spacedLabels(
  labels: readonly { x: number; text: string }[],
  xDomain: readonly [number, number],
  fonts: FigureFonts,
): { x: number; text: string }[] {
  const kept: { x: number; text: string }[] = [];
  let previousRight = -Infinity;
  for (const label of labels) {
    const center = Math.log10(label.x / xDomain[0]) / Math.log10(xDomain[1] / xDomain[0]) *
      FRAME_WIDTH;
    const halfWidth = fonts.regular.width(label.text, LENGTH_LABEL_SIZE) / 2;
    if (center - halfWidth < previousRight + 6) continue;
    kept.push(label);
    previousRight = center + halfWidth;
  }
  return kept;
}

function _complexityPanel(results: ProfileResults, fonts: FigureFonts): Panel {
  const seriesList = orderedSeries(results);
  const floorRows = seriesList.map((series) => _rows(results, series, 0));
  const flops = positiveFinite(results.flops.map((at) => at.totalFlops));
  const xDomain = logDomain(flops, 2);
  const yDomain = _timeDomain(floorRows);
  const rows = seriesList.map((series) => _rows(results, series, yDomain[0]));
  const rates = rows.flat()
    .filter((row) => Number.isFinite(row.meanMs) && Number.isFinite(row.totalFlops))
    .map((row) => row.totalFlops / (row.meanMs / 1000));
  const ceilings = _ceilingGuides(results);
  const guides: ThroughputGuide[] = [...ceilings];
  if (rates.length > 0) {
    const low = Math.floor(Math.log10(Math.min(...rates)));
    const high = Math.ceil(Math.log10(Math.max(...rates)));
    const step = Math.max(1, Math.ceil((high - low + 1) / 5));
    for (let exponent = low; exponent <= high; exponent += step) {
      guides.push({ rate: 10 ** exponent, text: formatFlopRate(10 ** exponent), line: "dashed" });
    }
  }
  const dataLines = rows.map((seriesRows) =>
    seriesRows
      .filter((row) => Number.isFinite(row.meanMs) && Number.isFinite(row.totalFlops))
      .map((row) => [row.totalFlops, row.meanMs] as [number, number])
  ).filter((line) => line.length > 0);
  const lengthLabels = _spacedLabels(
    results.flops
      .filter((at) => Number.isFinite(at.totalFlops) && at.totalFlops > 0)
      .sort((a, b) => a.totalFlops - b.totalFlops)
      .map((at) => ({ x: at.totalFlops, text: `n=${formatSeqLen(at.seqLen)}` })),
    xDomain,
    fonts,
  );
  return {
    title: "Time vs Computational Complexity",
    key: _legendKey([
      { label: "constant throughput (FLOP/s)", color: GUIDE_COLOR, line: "dashed" },
      ...(ceilings.length > 0
        ? [{ label: "calibrated matmul ceiling", color: CEILING_COLOR, line: "solid" } as const]
        : []),
    ], fonts),
    plot: {
      x: _logAxis(xDomain, decadeTicks(xDomain), formatFlopsTick, "theoretical FLOPs per forward"),
      y: _logAxis(yDomain, decadeTicks(yDomain), formatLogTick, "time per forward (ms)"),
      marks: [
        Plot.frame({ stroke: "#cccccc" }),
        ..._throughputGuides(xDomain, yDomain, guides, dataLines, fonts),
        Plot.text(lengthLabels, {
          x: "x",
          frameAnchor: "top",
          lineAnchor: "bottom",
          dy: -4,
          text: "text",
          fill: TEXT_COLORS.faint,
          fontSize: LENGTH_LABEL_SIZE,
        }),
        ...seriesList.flatMap((series, i) =>
          _seriesMarks(
            series,
            rows[i]!,
            (row) => row.totalFlops,
            xDomain,
            _dodgePx(i, seriesList.length),
          )
        ),
      ],
    },
  };
}

/** A panel's title, key and plot, its top-left corner at (x, y). */
export function panelMarkup(panel: Panel, x: number, y: number): string {
  const title = textElement(panel.title, {
    x: x + MARGINS.left,
    y: y + FONT_SIZES.panelTitle,
    "font-size": FONT_SIZES.panelTitle,
    "font-weight": "bold",
    fill: TEXT_COLORS.main,
  });
  const key = panel.key(x + MARGINS.left, y + PANEL_KEY_TOP, FRAME_WIDTH);
  const plot = plotSvgMarkup(
    {
      ...panel.plot,
      width: PANEL_WIDTH,
      height: PLOT_HEIGHT,
      marginTop: MARGINS.top,
      marginRight: MARGINS.right,
      marginBottom: MARGINS.bottom,
      marginLeft: MARGINS.left,
    },
    { x, y: y + PANEL_HEADER_HEIGHT, fontSize: FONT_SIZES.tick },
  );
  return element("g", { "aria-label": panel.title }, title + key + plot);
}

/**
 * The 2×2 profiling figure as an SVG document.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFigureFonts } from "./fonts.ts";
 * import { loadResults } from "./load_results.ts";
 *
 * const results = await loadResults("tests/fixtures/results_full.json");
 * const fonts = await loadFigureFonts();
 * const svg = profilingFigureSvg(results, fonts);
 * assert(svg.includes("Wall Clock Time vs Sequence Length"));
 * ```
 */
export function profilingFigureSvg(
  results: ProfileResults,
  fonts: FigureFonts,
  options: ProfilingFigureOptions = {},
): string {
  const width = PROFILING_FIGURE_WIDTH;
  const contentWidth = width - 2 * OUTER_MARGIN;
  const parts: string[] = [];
  parts.push(
    textElement("Multi-head self-attention: time, memory and work across sequence lengths", {
      x: OUTER_MARGIN,
      y: 32,
      "font-size": FONT_SIZES.title,
      "font-weight": "bold",
    }),
  );
  parts.push(textElement(options.subtitle ?? configurationLine(results), {
    x: OUTER_MARGIN,
    y: 54,
    "font-size": FONT_SIZES.subtitle,
    fill: TEXT_COLORS.muted,
  }));
  const legendItems: LegendItem[] = orderedSeries(results).map((series) => ({
    label: series.label,
    color: seriesStyle(series).color,
    line: "solid",
    marker: seriesStyle(series).marker,
  }));
  const legend = svgLegend(legendItems, {
    x: OUTER_MARGIN,
    y: 66,
    maxWidth: contentWidth,
    fontSize: FONT_SIZES.subtitle,
    measure: fonts.regular,
  });
  parts.push(legend.markup);
  const gridTop = 66 + Math.max(legend.height, 18) + 16;
  const panelHeight = PANEL_HEIGHT;
  const panels = [
    timePanel(results, fonts, { crossovers: options.crossovers, pointTitles: options.pointTitles }),
    memoryPanel(results, fonts),
    _flopsPanel(results, fonts),
    _complexityPanel(results, fonts),
  ];
  panels.forEach((panel, i) => {
    const column = i % 2, row = Math.floor(i / 2);
    const x = OUTER_MARGIN + column * (PANEL_WIDTH + COLUMN_GAP);
    const y = gridTop + row * (panelHeight + ROW_GAP);
    parts.push(panelMarkup(panel, x, y));
  });

  const footerSize = FONT_SIZES.footer;
  const footerLineHeight = Math.round(footerSize * 1.5);
  const notDrawn = notDrawnPhrases(results);
  const paragraphs = [
    environmentLine(results),
    adapterLine(results),
    `FLOPs: ${results.flopsConvention}`,
    ...crossoverSentences(options.crossovers ?? []),
    ...(notDrawn.length > 0 ? [`Not drawn (no measurement): ${notDrawn.join("; ")}`] : []),
  ];
  let footerY = gridTop + 2 * panelHeight + ROW_GAP + 4 + footerSize;
  const footerLines: string[] = [];
  for (const paragraph of paragraphs) {
    for (const line of wrapText(paragraph, contentWidth, footerSize, fonts.regular)) {
      footerLines.push(textElement(line, {
        x: OUTER_MARGIN,
        y: footerY,
        "font-size": footerSize,
        fill: TEXT_COLORS.muted,
      }));
      footerY += footerLineHeight;
    }
  }
  parts.push(element("g", { "aria-label": "environment" }, footerLines.join("")));
  const height = Math.ceil(footerY);
  return svgDocument(width, height, parts.join(""));
}
