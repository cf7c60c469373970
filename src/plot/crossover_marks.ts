/**
 * Crossovers on the time panel (issue 12): where a sliding-window or linear-attention series
 * becomes faster than fused softmax attention. The reference series (another configuration) is
 * drawn as a grey dashed line; the crossover as a dashed vertical rule in the candidate's colour,
 * with a light band over the interval the measurement noise allows; the footer says it in words.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { configurationOf } from "../analysis/configurations.ts";
import { type Crossover, findCrossovers } from "../analysis/crossover.ts";
import type { ProfileResults, SeriesResult } from "../results.ts";
import { formatSeqLen } from "./axes.ts";
import { shortName } from "./figure_data.ts";
import { DASH_PATTERN } from "./legend.ts";
import { seriesStyle, TEXT_COLORS } from "./theme.ts";

/** A crossover with the series it compares, as a panel draws it. */
export interface DrawnCrossover {
  crossover: Crossover;
  candidate: SeriesResult;
  reference: SeriesResult;
  /** the reference in words, e.g. `GPU fused, causal` */
  referenceLabel: string;
  /** the candidate's mask or attention, e.g. `sliding:256`, `linear` */
  candidateLabel: string;
}

/** The reference series' line colour: apart from every series colour. */
const REFERENCE_COLOR = "#999999";
const LABEL_SIZE = 10;

/** The crossovers whose candidate is one of `seriesList`, with their series. */
export function drawnCrossovers(
  results: ProfileResults,
  seriesList: readonly SeriesResult[],
): DrawnCrossover[] {
  const byName = new Map(results.series.map((series) => [series.name, series]));
  const shown = new Set(seriesList.map((series) => series.name));
  return findCrossovers(results).filter((c) => shown.has(c.series)).map((crossover) => {
    const reference = byName.get(crossover.reference)!;
    const mask = configurationOf(results, reference)?.mask;
    const candidate = configurationOf(results, byName.get(crossover.series)!);
    return {
      candidateLabel: candidate?.attention === "linear"
        ? "linear attention"
        : candidate?.mask ?? "",
      crossover,
      candidate: byName.get(crossover.series)!,
      reference,
      referenceLabel: `${shortName(reference)}${mask ? `, ${mask}` : ""}`,
    };
  });
}

/** A length for the key: whole tokens, with thousands separators. */
function _length(seqLen: number): string {
  return formatSeqLen(Math.round(seqLen));
}

/** One sentence per crossover, for the figure's footer. */
export function crossoverSentences(drawn: readonly DrawnCrossover[]): string[] {
  return drawn.map(({ crossover, candidate, candidateLabel, referenceLabel }) => {
    const { low, high } = crossover.interval;
    const last = crossover.seqLens.at(-1)!;
    const when = crossover.outcome === "crossed"
      ? `faster from n ≈ ${_length(crossover.seqLen!)} (95 % noise interval ${
        low === null ? `< ${_length(crossover.seqLens[0]!)}` : _length(low)
      }–${high === null ? `> ${_length(last)}` : _length(high)})`
      : crossover.outcome === "faster-throughout"
      ? "faster at every measured length"
      : `not faster up to n = ${_length(last)}`;
    return `Crossover: ${shortName(candidate)} (${candidateLabel}) against ${referenceLabel} ` +
      `(grey dashed): ${when}.`;
  });
}

/**
 * Marks of the crossovers: the reference lines (`rowsOf` gives a series' drawable rows), then a band
 * and a rule per crossing within the panel's lengths.
 */
export function crossoverMarks(
  drawn: readonly DrawnCrossover[],
  rowsOf: (series: SeriesResult) => readonly { seqLen: number; meanMs: number }[],
  xDomain: readonly [number, number],
): Plot.Markish[] {
  const references = [...new Map(drawn.map((d) => [d.reference.name, d.reference])).values()];
  const labels = new Map(drawn.map((d) => [d.reference.name, d.referenceLabel]));
  const referenceMarks = references.flatMap((reference) => {
    const rows = rowsOf(reference).filter((row) => Number.isFinite(row.meanMs));
    return [
      Plot.line(rows, {
        x: "seqLen",
        y: "meanMs",
        stroke: REFERENCE_COLOR,
        strokeWidth: 1.4,
        strokeDasharray: DASH_PATTERN,
      }),
      Plot.dot(rows, {
        x: "seqLen",
        y: "meanMs",
        stroke: REFERENCE_COLOR,
        fill: "#ffffff",
        symbol: seriesStyle(reference).marker,
        r: 3,
      }),
      Plot.text(rows.slice(-1), {
        x: "seqLen",
        y: "meanMs",
        text: () => labels.get(reference.name),
        textAnchor: "end",
        dx: -6,
        dy: 10,
        fill: TEXT_COLORS.muted,
        fontSize: LABEL_SIZE,
      }),
    ];
  });
  const clamp = (x: number) => Math.min(Math.max(x, xDomain[0]), xDomain[1]);
  const crossings = drawn.filter((d) => d.crossover.outcome === "crossed").map((d) => ({
    x: d.crossover.seqLen!,
    x1: clamp(d.crossover.interval.low ?? xDomain[0]),
    x2: clamp(d.crossover.interval.high ?? xDomain[1]),
    color: seriesStyle(d.candidate).color,
    text: `n≈${_length(d.crossover.seqLen!)}`,
  }));
  return [
    ...referenceMarks,
    Plot.rect(crossings, {
      x1: "x1",
      x2: "x2",
      fill: (c: { color: string }) => c.color,
      fillOpacity: 0.1,
    }),
    Plot.ruleX(crossings, {
      x: "x",
      stroke: (c: { color: string }) => c.color,
      strokeWidth: 1.2,
      strokeDasharray: DASH_PATTERN,
    }),
    Plot.text(crossings, {
      x: "x",
      frameAnchor: "top",
      lineAnchor: "top",
      dy: 4,
      dx: 4,
      textAnchor: "start",
      text: "text",
      fill: TEXT_COLORS.main,
      fontSize: LABEL_SIZE,
    }),
  ];
}
