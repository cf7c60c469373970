/**
 * Compare two profiles point by point: for every (series, configuration, n) both ran, the ratio of
 * medians NEW/BASE of each timed metric, recomputed from the raw samples (never from the stored
 * summaries) with a seeded bootstrap interval, and a verdict. Either side may be repeated profiles
 * of one setup, pooled. Points only one file has, and points
 * one file could not time, are listed, never dropped silently.
 *
 * @module
 */

import type { PointResult, ProfileResults } from "../results.ts";
import { median } from "../stats.ts";
import { bootstrapGroupedMedianRatio, type BootstrapOptions } from "./bootstrap.ts";
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
  /** BASE's timed runs (of every BASE profile that timed the point) */
  baseRuns: number;
  /** NEW's timed runs */
  newRuns: number;
  /** BASE profiles whose runs were pooled (1: a single profile) */
  baseProfiles: number;
  /** NEW profiles whose runs were pooled */
  newProfiles: number;
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
  /** profiles given as BASE (repeated profiles of one setup are pooled) */
  baseProfiles: number;
  /** profiles given as NEW */
  newProfiles: number;
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

/** One side of a comparison: a profile, or repeated profiles of one setup (pooled). */
export type ComparedSide = ProfileResults | readonly ProfileResults[];

/** Every point of a side's profiles by its key, in file order: the point in each profile. */
function pointsByKey(
  profiles: readonly ProfileResults[],
): Map<string, { key: PointKey; points: PointResult[] }> {
  const points = new Map<string, { key: PointKey; points: PointResult[] }>();
  for (const series of profiles.flatMap((results) => results.series)) {
    for (const point of series.points) {
      const configurationId = series.configurationId;
      const key: PointKey = configurationId === undefined
        ? { series: series.name, seqLen: point.seqLen }
        : { series: series.name, configurationId, seqLen: point.seqLen };
      const id = keyString(key);
      if (!points.has(id)) points.set(id, { key, points: [] });
      points.get(id)!.points.push(point);
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

/**
 * The compared metrics of one point both sides have (its timed instances in each side's
 * profiles, pooled), or why a metric could not be compared.
 */
function comparePoint(
  key: PointKey,
  base: readonly PointResult[],
  next: readonly PointResult[],
  options: CompareOptions,
): { compared: ComparedPoint[]; notCompared: NotCompared[] } {
  const timed = { BASE: base.filter(isOk), NEW: next.filter(isOk) };
  for (const [side, points] of [["BASE", base], ["NEW", next]] as const) {
    if (timed[side].length === 0) {
      const point = points[0]!;
      const reason = `${point.status} in ${side}${point.reason ? `: ${point.reason}` : ""}`;
      return { compared: [], notCompared: [{ key, reason }] };
    }
  }
  const compared: ComparedPoint[] = [];
  const notCompared: NotCompared[] = [];
  for (const metric of METRICS) {
    const groups = (points: PointResult[]) =>
      points.map((p) => usable(metric.samples(p))).filter((g): g is number[] => g !== null);
    const [baseGroups, newGroups] = [groups(timed.BASE), groups(timed.NEW)];
    if (baseGroups.length === 0 && newGroups.length === 0) continue;
    if (baseGroups.length === 0 || newGroups.length === 0) {
      const missing = baseGroups.length === 0 ? "BASE" : "NEW";
      notCompared.push({ key, reason: `${metric.label}: fewer than 2 samples in ${missing}` });
      continue;
    }
    const { ratio, ci } = bootstrapGroupedMedianRatio(baseGroups, newGroups, options.bootstrap);
    compared.push({
      ...key,
      metric: metric.name,
      metricLabel: metric.label,
      baseMedianMs: median(baseGroups.flat()),
      newMedianMs: median(newGroups.flat()),
      baseRuns: baseGroups.flat().length,
      newRuns: newGroups.flat().length,
      baseProfiles: baseGroups.length,
      newProfiles: newGroups.length,
      ratio,
      ci,
      verdict: verdictOf(ratio, ci, options.threshold),
    });
  }
  return { compared, notCompared };
}

function profilesOf(side: ComparedSide): readonly ProfileResults[] {
  return Array.isArray(side) ? side : [side as ProfileResults];
}

function isOk(point: PointResult): boolean {
  return point.status === "ok";
}

/** Differences between the profiles of one side, each named by its place in the side. */
function sideDifferences(side: "BASE" | "NEW", profiles: readonly ProfileResults[]): string[] {
  return profiles.slice(1).flatMap((profile, i) =>
    describeDifferences(profiles[0]!, profile).map((line) =>
      `${side} profile ${i + 2} against its first: ${line}`
    )
  );
}

/**
 * Compare NEW against BASE at every point both ran. A side may be repeated profiles of one setup:
 * their runs are pooled per point, and the interval resamples profiles, then runs.
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
  base: ComparedSide,
  next: ComparedSide,
  options: CompareOptions,
): Comparison {
  const [baseProfiles, newProfiles] = [profilesOf(base), profilesOf(next)];
  if (baseProfiles.length === 0 || newProfiles.length === 0) {
    throw new RangeError("a side of the comparison has no profile");
  }
  const basePoints = pointsByKey(baseProfiles);
  const newPoints = pointsByKey(newProfiles);
  const comparison: Comparison = {
    points: [],
    onlyInBase: [],
    onlyInNew: [],
    notCompared: [],
    differences: [
      ...describeDifferences(baseProfiles[0]!, newProfiles[0]!),
      ...sideDifferences("BASE", baseProfiles),
      ...sideDifferences("NEW", newProfiles),
    ],
    baseProfiles: baseProfiles.length,
    newProfiles: newProfiles.length,
    threshold: options.threshold,
    bootstrap: options.bootstrap,
  };
  for (const [id, { key, points }] of basePoints) {
    const other = newPoints.get(id);
    if (other === undefined) {
      comparison.onlyInBase.push(key);
      continue;
    }
    const { compared, notCompared } = comparePoint(key, points, other.points, options);
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
