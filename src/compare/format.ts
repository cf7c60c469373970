/**
 * A comparison as report blocks (src/report/document.ts): one table of every compared point, then
 * the points only one file has, the points that could not be compared and the differences between
 * the files. The console and `--markdown` render the same blocks.
 *
 * @module
 */

import { formatMs } from "../report.ts";
import type { ReportBlock } from "../report/document.ts";
import { type Comparison, describeKey, type PointKey } from "./compare.ts";

/** Where the two files came from, as the header names them. */
export interface ComparedFiles {
  base: string;
  next: string;
}

function percent(fraction: number): string {
  return `${fraction >= 0 ? "+" : "−"}${Math.abs(100 * fraction).toFixed(1)} %`;
}

function ratioText(ratio: number): string {
  return `${ratio.toFixed(3)}×`;
}

/** `20`, or `60 in 3` for the runs of 3 pooled profiles. */
function runsText(runs: number, profiles: number): string {
  return profiles === 1 ? String(runs) : `${runs} in ${profiles}`;
}

function keyList(keys: readonly PointKey[]): string {
  return keys.map(describeKey).join(", ");
}

/**
 * The rows of the comparison table, with a configuration column only where series names alone are
 * ambiguous (names of non-default configurations carry their configuration already).
 */
function comparisonTable(comparison: Comparison): ReportBlock {
  const names = new Set(comparison.points.map((p) => p.series));
  const pairs = new Set(comparison.points.map((p) => `${p.series}\0${p.configurationId}`));
  const withConfigurations = pairs.size > names.size;
  const confidence = `${Math.round(100 * comparison.bootstrap.confidence)} % CI`;
  const header = [
    "series",
    ...(withConfigurations ? ["configuration"] : []),
    "n",
    "metric",
    "BASE median ms",
    "NEW median ms",
    "NEW/BASE",
    confidence,
    "change",
    "verdict",
  ];
  const rows = comparison.points.map((point) => [
    point.series,
    ...(withConfigurations ? [point.configurationId ?? ""] : []),
    String(point.seqLen),
    point.metricLabel,
    `${formatMs(point.baseMedianMs)} (${runsText(point.baseRuns, point.baseProfiles)})`,
    `${formatMs(point.newMedianMs)} (${runsText(point.newRuns, point.newProfiles)})`,
    ratioText(point.ratio),
    `${point.ci[0].toFixed(3)}…${point.ci[1].toFixed(3)}`,
    percent(point.ratio - 1),
    point.verdict,
  ]);
  // the series (and its configuration) label a row
  return { kind: "table", header, rows, labelColumns: withConfigurations ? 2 : 1 };
}

/** Fewest compared points for a shared direction to hint at a drift rather than chance. */
const DRIFT_MIN_POINTS = 4;

/**
 * A warning when every compared point moved the same way: a slower or faster machine between the
 * two runs (other load, another clock) moves every series, a code change usually only some.
 */
function driftNote(comparison: Comparison): string[] {
  const ratios = comparison.points.map((p) => p.ratio);
  if (ratios.length < DRIFT_MIN_POINTS) return [];
  const direction = ratios.every((r) => r > 1)
    ? "slower"
    : ratios.every((r) => r < 1)
    ? "faster"
    : null;
  if (direction === null) return [];
  return [
    `Every point is ${direction} in NEW, series that did not change included: the machine may ` +
    "have drifted between the two runs (other load); compare the series you changed against the " +
    "others, or re-run both on a quiet machine.",
  ];
}

/** How many profiles each side pooled, when one side has more than one. */
function pooledLine(comparison: Comparison): string[] {
  const { baseProfiles, newProfiles } = comparison;
  if (baseProfiles === 1 && newProfiles === 1) return [];
  return [
    `Repeated profiles pooled: BASE ${baseProfiles}, NEW ${newProfiles} (runs in brackets: runs in ` +
    "profiles); the interval resamples profiles, then their runs, so a level that moves between " +
    "processes widens it.",
  ];
}

/**
 * The comparison as blocks: how it was computed, the table, and every list that is not empty.
 */
export function comparisonBlocks(comparison: Comparison, files: ComparedFiles): ReportBlock[] {
  const { bootstrap, threshold } = comparison;
  const blocks: ReportBlock[] = [
    { kind: "heading", text: `Comparison: NEW ${files.next} against BASE ${files.base}` },
    {
      kind: "paragraph",
      lines: [
        "Ratio of medians NEW/BASE from the raw samples (runs in brackets): wall = wall clock of " +
        "a forward, kernel sum = the sum of its GPU stage times (timestamp queries).",
        ...pooledLine(comparison),
        `Interval: percentile bootstrap, ${bootstrap.resamples} resamples, seed ${bootstrap.seed}. ` +
        `Within noise when the interval holds 1 or the change is under ${
          (100 * threshold).toFixed(1)
        } %.`,
      ],
    },
  ];
  if (comparison.points.length > 0) blocks.push(comparisonTable(comparison));
  else blocks.push({ kind: "paragraph", lines: ["No point was timed in both files."] });
  const counts = ["faster", "slower", "within noise"].map((verdict) =>
    `${comparison.points.filter((p) => p.verdict === verdict).length} ${verdict}`
  );
  const notes = [
    `${comparison.points.length} comparisons: ${counts.join(", ")}.`,
    ...driftNote(comparison),
    ...(comparison.onlyInBase.length > 0
      ? [`Only in BASE (not compared): ${keyList(comparison.onlyInBase)}.`]
      : []),
    ...(comparison.onlyInNew.length > 0
      ? [`Only in NEW (not compared): ${keyList(comparison.onlyInNew)}.`]
      : []),
    ...comparison.notCompared.map((item) =>
      `Not compared: ${describeKey(item.key)}: ${item.reason}.`
    ),
    comparison.differences.length > 0
      ? `The files differ in more than timings:\n${
        comparison.differences.map((line) => `- ${line}`).join("\n")
      }`
      : "Same configuration, machine, adapter, runtime and tuning in both files.",
  ];
  blocks.push({ kind: "list", items: notes });
  return blocks;
}
