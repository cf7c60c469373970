/**
 * Configurations read back from a results object: each one's label in words, the series of each,
 * and the comparisons between configurations that differ in one axis — causal ÷ full time,
 * grouped-query attention's memory and Q|K|V-projection savings, tokens per second per batch size.
 * Every number is a ratio of two measured points (same implementation, same n, both `ok`); nothing
 * is reported where a side was not measured.
 *
 * @module
 */

import type { Configuration } from "../configuration.ts";
import type { PointResult, ProfileResults, SeriesResult } from "../results.ts";

/** A series' measured value at one length. */
export interface RatioPoint {
  /** the length */
  seqLen: number;
  /** the compared configuration's value ÷ the base configuration's */
  ratio: number;
}

/** One implementation in two configurations that differ in one axis. */
export interface ConfigurationComparison {
  /** `cpu`, `gpu_fused`, …: the series name without the configuration */
  implementation: string;
  /** the base configuration's id (full mask; kv_heads = heads) */
  base: string;
  /** the compared configuration's id (causal mask; kv_heads < heads) */
  compared: string;
  /** compared ÷ base per length both measured */
  ratios: RatioPoint[];
}

/** Tokens per second of one series: B·n sequences' tokens over the mean wall time of a forward. */
export interface Throughput {
  /** `cpu`, `gpu_fused`, …: the series name without the configuration */
  implementation: string;
  /** the series' configuration */
  configurationId: string;
  /** sequences per forward */
  batch: number;
  /** tokens per second at each measured length */
  points: { seqLen: number; tokensPerSecond: number }[];
}

/**
 * A configuration in words, without the axis `omit` (the one a comparison varies), e.g. `d_model 512 · 8 heads (kv 2) · batch 3 · causal · forward`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const c = { id: "x", batch: 3, dModel: 512, heads: 8, kvHeads: 2, dK: 64, mask: "causal",
 *   window: 0, attention: "softmax", pass: "forward" } as const;
 * assert.deepEqual(configurationLabel(c), "d_model 512 · 8 heads (kv 2) · batch 3 · causal · forward");
 * ```
 */
export function configurationLabel(c: Configuration, omit?: "mask" | "kvHeads" | "batch"): string {
  const kv = c.kvHeads === c.heads || omit === "kvHeads" ? "" : ` (kv ${c.kvHeads})`;
  const mask = c.window > 0 ? `sliding window ${c.window}` : c.mask;
  return [
    `d_model ${c.dModel}`,
    `${c.heads} heads${kv}`,
    ...(omit === "batch" ? [] : [`batch ${c.batch}`]),
    ...(omit === "mask" ? [] : [mask]),
    ...(c.attention === "softmax" ? [] : [`${c.attention} attention`]),
    c.pass,
  ].join(" · ");
}

/** The implementation part of a series name: `gpu_fused__b1_…` → `gpu_fused`. */
export function implementationOf(series: SeriesResult): string {
  return series.name.split("__")[0]!;
}

/** The configuration a series measures, when the file records it. */
export function configurationOf(
  results: ProfileResults,
  series: SeriesResult,
): Configuration | undefined {
  return results.configurations?.find((c) => c.id === series.configurationId);
}

/** True when the results hold more than one configuration. */
export function hasSeveralConfigurations(results: ProfileResults): boolean {
  return (results.configurations?.length ?? 0) > 1;
}

/** The series of each configuration, in the file's order (a version-1 file: one group, no id). */
export function seriesByConfiguration(
  results: ProfileResults,
): { configuration: Configuration | undefined; series: SeriesResult[] }[] {
  const configurations = results.configurations ?? [];
  if (configurations.length === 0) return [{ configuration: undefined, series: results.series }];
  return configurations.map((configuration) => ({
    configuration,
    series: results.series.filter((s) => s.configurationId === configuration.id),
  }));
}

/** The measured point of a series at n: `ok` with a wall-clock summary, else undefined. */
export function measuredPoint(series: SeriesResult, seqLen: number): PointResult | undefined {
  const point = series.points.find((p) => p.seqLen === seqLen);
  return point?.status === "ok" && point.wallMsSummary !== undefined ? point : undefined;
}

/** The axes that define a configuration besides its id and the derived d_k and window. */
const AXES = ["batch", "dModel", "heads", "kvHeads", "mask", "attention", "pass"] as const;

type Axis = typeof AXES[number];

/** Whether two configurations agree on every axis but `axis`. */
export function sameExcept(a: Configuration, b: Configuration, axis: Axis): boolean {
  return AXES.every((other) => other === axis || a[other] === b[other]);
}

/**
 * Pairs of configurations that differ only in `axis`, base first: `isBase` picks the base side,
 * `isCompared` the other.
 */
function _pairs(
  configurations: readonly Configuration[],
  axis: Axis,
  isBase: (c: Configuration) => boolean,
  isCompared: (c: Configuration) => boolean,
): [Configuration, Configuration][] {
  return configurations.filter(isBase).flatMap((base) =>
    configurations
      .filter((c) => isCompared(c) && sameExcept(base, c, axis))
      .map((compared) => [base, compared] as [Configuration, Configuration])
  );
}

/**
 * For each pair and each implementation measured in both, `value(compared) ÷ value(base)` at every
 * length where both values are finite and positive.
 */
function _compare(
  results: ProfileResults,
  pairs: readonly [Configuration, Configuration][],
  value: (series: SeriesResult, point: PointResult) => number | undefined,
): ConfigurationComparison[] {
  return pairs.flatMap(([base, compared]) => {
    const baseSeries = results.series.filter((s) => s.configurationId === base.id);
    return baseSeries.flatMap((b) => {
      const c = results.series.find((s) =>
        s.configurationId === compared.id && implementationOf(s) === implementationOf(b)
      );
      if (c === undefined) return [];
      const ratios = b.points.flatMap(({ seqLen }) => {
        const [bp, cp] = [measuredPoint(b, seqLen), measuredPoint(c, seqLen)];
        const baseValue = (bp && value(b, bp)) ?? NaN;
        const comparedValue = (cp && value(c, cp)) ?? NaN;
        const ratio = comparedValue / baseValue; // NaN or ∞ where a side was not measured
        return ratio > 0 && Number.isFinite(ratio) ? [{ seqLen, ratio }] : [];
      });
      if (ratios.length === 0) return [];
      return [{
        implementation: implementationOf(b),
        base: base.id,
        compared: compared.id,
        ratios,
      }];
    });
  });
}

const meanWallMs = (_: SeriesResult, point: PointResult) => point.wallMsSummary?.mean;

/** Causal ÷ full mean wall time per n, per implementation (expected → 0.5 for fused at large n). */
export function causalOverFull(results: ProfileResults): ConfigurationComparison[] {
  const pairs = _pairs(
    results.configurations ?? [],
    "mask",
    (c) => c.mask === "full",
    (c) => c.mask === "causal",
  );
  return _compare(results, pairs, meanWallMs);
}

/** Pairs of a multi-head configuration (kv_heads = heads) with its grouped-query ones. */
function _gqaPairs(results: ProfileResults): [Configuration, Configuration][] {
  return _pairs(
    results.configurations ?? [],
    "kvHeads",
    (c) => c.kvHeads === c.heads,
    (c) => c.kvHeads < c.heads,
  );
}

/** Grouped-query ÷ multi-head measured peak memory per n. */
export function gqaMemory(results: ProfileResults): ConfigurationComparison[] {
  return _compare(results, _gqaPairs(results), (_, point) => point.memory?.peakBytes);
}

/** The stage that projects x to Q, K and V: the one GQA narrows. */
export const PROJECTION_STAGE = "projection_qkv";

/** Grouped-query ÷ multi-head mean kernel time of the Q|K|V projection stage per n (GPU only). */
export function gqaProjection(results: ProfileResults): ConfigurationComparison[] {
  return _compare(results, _gqaPairs(results), (series, point) => {
    const stage = series.stageNames?.indexOf(PROJECTION_STAGE) ?? -1;
    return stage < 0 ? undefined : point.kernelMsSummary?.[stage]?.mean;
  });
}

/** Tokens per second of every measured point of a configuration: B·n over the mean wall seconds. */
export function throughputs(results: ProfileResults): Throughput[] {
  return results.series.flatMap((series) => {
    const configuration = configurationOf(results, series);
    if (configuration === undefined) return [];
    const batch = configuration.batch;
    const points = series.points.flatMap((point) => {
      const measured = measuredPoint(series, point.seqLen);
      if (measured === undefined) return [];
      const seconds = measured.wallMsSummary!.mean / 1000;
      return seconds > 0
        ? [{ seqLen: point.seqLen, tokensPerSecond: batch * point.seqLen / seconds }]
        : [];
    });
    if (points.length === 0) return [];
    return [{
      implementation: implementationOf(series),
      configurationId: configuration.id,
      batch,
      points,
    }];
  });
}
