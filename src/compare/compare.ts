/**
 * Compare two profiles point by point: for every (series, configuration, n) both ran, the ratio of
 * medians NEW/BASE of each timed metric, recomputed from the raw samples (never from the stored
 * summaries) with a seeded bootstrap interval, and a verdict. Points only one file has, and points
 * one file could not time, are listed, never dropped silently.
 *
 * @module
 */

import type { PointResult, ProfileResults } from "../results.ts";
import { median } from "../stats.ts";
import { bootstrapMedianRatio, type BootstrapOptions } from "./bootstrap.ts";
import { describeDifferences } from "./differences.ts";

/** What a comparison concludes about one point and metric. */
export type Verdict = "faster" | "slower" | "within noise";

/** The timed metrics of a point: the wall clock, and the GPU stages' sum. */
export type MetricName = "wallMs" | "kernelSumMs";

/** A timed metric of a point: its raw samples, and how tables label it. */
interface Metric {
  name: MetricName;
  label: string;
  samples(point: PointResult): readonly number[] | undefined;
}

/** The metrics compared, in table order; a metric a point lacks in both files is left out. */
const METRICS: readonly Metric[] = [
  { name: "wallMs", label: "wall", samples: (point) => point.wallMs },
  { name: "kernelSumMs", label: "kernel sum", samples: (point) => point.kernelSumMs },
];

/** Identifies a point across files. */
export interface PointKey {
  /** the series name, e.g. `gpu_fused` */
  series: string;
  /** schemaVersion 2: the configuration the series ran; absent in version 1 files */
  configurationId?: string;
  /** the sequence length n */
  seqLen: number;
}

/** One compared point and metric. */
export interface ComparedPoint extends PointKey {
  /** which timed metric */
  metric: MetricName;
  /** how tables name the metric */
  metricLabel: string;
  /** median of BASE's runs, ms */
  baseMedianMs: number;
  /** median of NEW's runs, ms */
  newMedianMs: number;
  /** BASE's timed runs */
  baseRuns: number;
  /** NEW's timed runs */
  newRuns: number;
  /** median(NEW) / median(BASE) */
  ratio: number;
  /** bootstrap interval of the ratio */
  ci: [number, number];
  /** faster, slower or within noise */
  verdict: Verdict;
}

/** A point both files have that could not be compared, and why. */
export interface NotCompared {
  /** the point */
  key: PointKey;
  /** why it was not compared */
  reason: string;
}

/** Everything `deno task compare` reports. */
export interface Comparison {
  /** the points timed in both files */
  points: ComparedPoint[];
  /** points only BASE has */
  onlyInBase: PointKey[];
  /** points only NEW has */
  onlyInNew: PointKey[];
  /** points one file could not time */
  notCompared: NotCompared[];
  /** configuration, adapter, runtime and tuning differences between the files, in words */
  differences: string[];
  /** a change smaller than this fraction is within noise */
  threshold: number;
  /** the bootstrap's seed and resamples */
  bootstrap: BootstrapOptions;
}

/** Options of {@link compareResults}. */
export interface CompareOptions {
  /** fraction: |ratio − 1| under it is within noise (0.05 for 5 %) */
  threshold: number;
  /** the bootstrap's seed and resamples */
  bootstrap: BootstrapOptions;
}

/** `series [configuration] n=N`: how lists name a point. */
export function describeKey(key: PointKey): string {
  const configuration = key.configurationId === undefined ? "" : ` [${key.configurationId}]`;
  return `${key.series}${configuration} n=${key.seqLen}`;
}

function keyString(key: PointKey): string {
  return JSON.stringify([key.series, key.configurationId ?? null, key.seqLen]);
}

/** Every point of a file by its key, in file order. */
function pointsByKey(results: ProfileResults): Map<string, { key: PointKey; point: PointResult }> {
  const points = new Map<string, { key: PointKey; point: PointResult }>();
  for (const series of results.series) {
    for (const point of series.points) {
      const configurationId = series.configurationId;
      const key: PointKey = configurationId === undefined
        ? { series: series.name, seqLen: point.seqLen }
        : { series: series.name, configurationId, seqLen: point.seqLen };
      points.set(keyString(key), { key, point });
    }
  }
  return points;
}

/** The verdict of a ratio and its interval. */
export function verdictOf(
  ratio: number,
  ci: readonly [number, number],
  threshold: number,
): Verdict {
  if ((ci[0] <= 1 && 1 <= ci[1]) || Math.abs(ratio - 1) < threshold) return "within noise";
  return ratio > 1 ? "slower" : "faster";
}

/** Samples a comparison can use: finite, at least two. */
function usable(samples: readonly number[] | undefined): number[] | null {
  const finite = samples?.filter(Number.isFinite) ?? [];
  return finite.length >= 2 ? finite : null;
}

/** The compared metrics of one point both files have, or why a metric could not be compared. */
function comparePoint(
  key: PointKey,
  base: PointResult,
  next: PointResult,
  options: CompareOptions,
): { compared: ComparedPoint[]; notCompared: NotCompared[] } {
  for (const [file, point] of [["BASE", base], ["NEW", next]] as const) {
    if (point.status !== "ok") {
      const reason = `${point.status} in ${file}${point.reason ? `: ${point.reason}` : ""}`;
      return { compared: [], notCompared: [{ key, reason }] };
    }
  }
  const compared: ComparedPoint[] = [];
  const notCompared: NotCompared[] = [];
  for (const metric of METRICS) {
    const baseSamples = usable(metric.samples(base));
    const newSamples = usable(metric.samples(next));
    if (baseSamples === null && newSamples === null) continue;
    if (baseSamples === null || newSamples === null) {
      const missing = baseSamples === null ? "BASE" : "NEW";
      notCompared.push({ key, reason: `${metric.label}: fewer than 2 samples in ${missing}` });
      continue;
    }
    const { ratio, ci } = bootstrapMedianRatio(baseSamples, newSamples, options.bootstrap);
    compared.push({
      ...key,
      metric: metric.name,
      metricLabel: metric.label,
      baseMedianMs: median(baseSamples),
      newMedianMs: median(newSamples),
      baseRuns: baseSamples.length,
      newRuns: newSamples.length,
      ratio,
      ci,
      verdict: verdictOf(ratio, ci, options.threshold),
    });
  }
  return { compared, notCompared };
}

/**
 * Compare NEW against BASE at every point both ran.
 *
 * @example
 * ```ts
 * import { loadResults } from "../plot/load_results.ts";
 * import { DEFAULT_BOOTSTRAP } from "./bootstrap.ts";
 *
 * const base = await loadResults("tests/fixtures/results_full.json");
 * const comparison = compareResults(base, base, { threshold: 0.05, bootstrap: DEFAULT_BOOTSTRAP });
 * if (comparison.points.some((p) => p.verdict !== "within noise")) throw new Error("not the same");
 * ```
 */
export function compareResults(
  base: ProfileResults,
  next: ProfileResults,
  options: CompareOptions,
): Comparison {
  const basePoints = pointsByKey(base);
  const newPoints = pointsByKey(next);
  const comparison: Comparison = {
    points: [],
    onlyInBase: [],
    onlyInNew: [],
    notCompared: [],
    differences: describeDifferences(base, next),
    threshold: options.threshold,
    bootstrap: options.bootstrap,
  };
  for (const [id, { key, point }] of basePoints) {
    const other = newPoints.get(id);
    if (other === undefined) {
      comparison.onlyInBase.push(key);
      continue;
    }
    const { compared, notCompared } = comparePoint(key, point, other.point, options);
    comparison.points.push(...compared);
    comparison.notCompared.push(...notCompared);
  }
  for (const [id, { key }] of newPoints) {
    if (!basePoints.has(id)) comparison.onlyInNew.push(key);
  }
  return comparison;
}

/** The compared points slower than `fraction` (0.1: more than 10 % slower), for `--fail-on-slower`. */
export function slowerThan(comparison: Comparison, fraction: number): ComparedPoint[] {
  return comparison.points.filter((p) => p.verdict === "slower" && p.ratio - 1 > fraction);
}
