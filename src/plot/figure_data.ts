/**
 * What the figures draw, read off the results object: one row per (series, length) with NaN where
 * a point was skipped or failed, and the words of the subtitle and footer (configuration,
 * environment, skipped points).
 *
 * @module
 */

import type { PointResult, ProfileResults, SeriesResult } from "../results.ts";
import { median } from "../stats.ts";
import { backendPhrase } from "../gpu/backends.ts";
import { formatBytes, formatSeqLen } from "./axes.ts";
import { seriesRank, seriesShortName } from "./theme.ts";

/** One point of one series as the panels draw it; NaN where there is nothing to draw. */
export interface SeriesPoint {
  seqLen: number;
  ok: boolean;
  /** mean wall clock of a forward, ms */
  meanMs: number;
  /** standard error of the mean, ms */
  semMs: number;
  /** median wall clock of a forward, ms */
  medianMs: number;
  /** exact peak of live buffer bytes (measured) */
  peakBytes: number;
  /** bytes the stages must hold at once (from the shapes) */
  theoreticalBytes: number;
  /** total theoretical FLOPs of a forward at this length */
  totalFlops: number;
}

/** The series present, in legend order (the registry's order of implementations). */
export function orderedSeries(results: ProfileResults): SeriesResult[] {
  return results.series
    .map((series, index) => ({ series, index }))
    .sort((a, b) => seriesRank(a.series) - seriesRank(b.series) || a.index - b.index)
    .map(({ series }) => series);
}

function _mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean, SEM and median of a point's wall clock: its summary, or computed from the samples. */
function _wallStatistics(point: PointResult): { meanMs: number; semMs: number; medianMs: number } {
  if (point.wallMsSummary !== undefined) {
    const { mean, sem, median } = point.wallMsSummary;
    return { meanMs: mean, semMs: sem, medianMs: median };
  }
  const samples = point.wallMs.filter(Number.isFinite);
  const meanMs = _mean(samples);
  const medianMs = samples.length === 0 ? NaN : median(samples);
  if (samples.length < 2) return { meanMs, semMs: NaN, medianMs };
  const variance = samples.reduce((a, b) => a + (b - meanMs) ** 2, 0) / (samples.length - 1);
  return { meanMs, semMs: Math.sqrt(variance / samples.length), medianMs };
}

/** Total theoretical FLOPs at each length. */
export function totalFlopsByLength(results: ProfileResults): Map<number, number> {
  return new Map(results.flops.map((work) => [work.seqLen, work.totalFlops]));
}

/**
 * The drawable points of a series, sorted by length. Points that are not `ok` keep their row with
 * NaN measurements (so lines break there) and their theoretical bytes when known.
 */
export function seriesPoints(results: ProfileResults, series: SeriesResult): SeriesPoint[] {
  const flops = totalFlopsByLength(results);
  return [...series.points]
    .sort((a, b) => a.seqLen - b.seqLen)
    .map((point) => {
      const ok = point.status === "ok";
      const { meanMs, semMs, medianMs } = ok
        ? _wallStatistics(point)
        : { meanMs: NaN, semMs: NaN, medianMs: NaN };
      return {
        seqLen: point.seqLen,
        ok,
        meanMs,
        semMs,
        medianMs,
        peakBytes: ok ? point.memory?.peakBytes ?? NaN : NaN,
        theoreticalBytes: point.memory?.theoreticalBytes ?? NaN,
        totalFlops: flops.get(point.seqLen) ?? NaN,
      };
    });
}

/** Every sequence length the run mentions (configured, measured or counted), ascending. */
export function allSeqLens(results: ProfileResults): number[] {
  const lengths = new Set<number>(results.config.seqLens);
  for (const work of results.flops) lengths.add(work.seqLen);
  for (const series of results.series) for (const point of series.points) lengths.add(point.seqLen);
  return [...lengths].filter((n) => Number.isFinite(n) && n > 0).sort((a, b) => a - b);
}

/** The short name of a series for annotations. */
export function shortName(series: SeriesResult): string {
  return seriesShortName(series) ?? series.label;
}

/** The configuration in one line: the subtitle of the profiling figure. */
export function configurationLine(results: ProfileResults): string {
  const { dModel, heads, runs, warmup, seed } = results.config;
  const parts = [
    `d_model ${dModel}, ${heads} heads (d_k ${dModel / heads})`,
    `${runs} timed runs per point after ${warmup} warm-up`,
    "points: mean ± standard error of the mean",
    `seed ${seed}`,
  ];
  if (results.interrupted) parts.push("run interrupted: only completed points shown");
  return parts.join(" · ");
}

/** The adapter in words, with the software-adapter warning. */
export function adapterLine(results: ProfileResults): string {
  const adapter = results.environment.adapter;
  if (adapter === null) return "GPU adapter: none (no GPU series in this run)";
  const name = adapter.description.trim() ||
    [adapter.vendor, adapter.architecture, adapter.device].filter((s) => s.trim()).join(" ") ||
    "unnamed adapter";
  const backend = adapter.backend ? ` [${backendPhrase(adapter)}]` : "";
  const software = adapter.isSoftware ? " (software adapter: GPU numbers are CPU emulation)" : "";
  return `GPU adapter: ${name}${backend}${software}`;
}

/** The machine in words: runtime, OS and CPU. */
export function environmentLine(results: ProfileResults): string {
  const env = results.environment;
  const memory = Number.isFinite(env.totalMemoryBytes)
    ? `, ${formatBytes(env.totalMemoryBytes)} RAM`
    : "";
  return `Environment: Deno ${env.deno} (V8 ${env.v8}) on ${env.os} ${env.arch} · CPU: ${env.cpuModel}` +
    ` (${env.cpuCores} cores${memory})`;
}

/** Points not drawn, with their reasons: one phrase per point or skipped series. */
export function notDrawnPhrases(results: ProfileResults): string[] {
  const phrases: string[] = [];
  const seen = new Set<string>();
  for (const series of orderedSeries(results)) {
    for (const point of [...series.points].sort((a, b) => a.seqLen - b.seqLen)) {
      if (point.status === "ok") continue;
      seen.add(`${series.name}:${point.seqLen}`);
      const reason = point.reason ? `: ${_shorten(point.reason, 200)}` : "";
      phrases.push(
        `${shortName(series)} n = ${formatSeqLen(point.seqLen)} ${point.status}${reason}`,
      );
    }
  }
  for (const skip of results.skips) {
    const key = `${skip.series}:${skip.seqLen}`;
    if (skip.seqLen !== undefined && seen.has(key)) continue;
    seen.add(key);
    const series = results.series.find((s) => s.name === skip.series);
    const name = skip.series === "gpu" ? "GPU" : (series && seriesShortName(series)) ?? skip.series;
    const where = skip.seqLen === undefined ? "" : ` n = ${formatSeqLen(skip.seqLen)}`;
    phrases.push(`${name}${where} skipped: ${_shorten(skip.reason, 200)}`);
  }
  return phrases;
}

function _shorten(text: string, maxLength: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, maxLength - 1)}…`;
}
