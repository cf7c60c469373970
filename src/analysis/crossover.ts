/**
 * Where sub-quadratic attention starts to win (issue 12): for each series of a sliding-window or
 * linear-attention configuration, the length from which it is faster than fused softmax attention
 * with the same batch, d_model, heads, kv_heads and pass — mask `causal` for a sliding series (or,
 * when the grid measured no causal mask, `full`: the quadratic attention the run has), the same
 * mask for a linear one. The CPU path is compared with the CPU path (it has no fused variant).
 *
 * Between two measured lengths both times are straight lines in log–log, so their difference is
 * linear in log n and the crossing is exact on that segment. The interval is what the noise allows:
 * the same crossing with the candidate at the low end of its 95 % CI and the reference at the high
 * end (the earliest), and the other way round (the latest).
 *
 * @module
 */

import type { Configuration } from "../configuration.ts";
import type { ProfileResults, SeriesResult } from "../results.ts";
import { implementationName } from "../variants/registry.ts";
import { configurationOf, implementationOf, measuredPoint } from "./configurations.ts";
import { memoryGrowth } from "./memory_growth.ts";

/** How a candidate compares with its reference over the common lengths. */
export type CrossoverOutcome =
  /** slower at the first common length, faster from some length on */
  | "crossed"
  /** faster at every common length: the crossover lies below them */
  | "faster-throughout"
  /** not faster at the largest common length: not within the measured lengths */
  | "not-within";

/** A crossing of two timed series. */
export interface CrossoverPoint {
  /** how the two series compare over their common lengths */
  outcome: CrossoverOutcome;
  /** the interpolated length, when `crossed` */
  seqLen: number | null;
}

/** A sub-quadratic series against fused softmax attention. */
export interface Crossover {
  /** the sub-quadratic series */
  series: string;
  /** the sub-quadratic series' configuration */
  configurationId: string;
  /** the softmax series it is compared with */
  reference: string;
  /** the reference series' configuration */
  referenceConfigurationId: string;
  /** how the two compare over their common lengths */
  outcome: CrossoverOutcome;
  /** from the means; null unless `crossed` */
  seqLen: number | null;
  /**
   * What the 95 % CIs allow, earliest to latest: `low` null = below the smallest common length
   * (`high` is then that length when even the latest is below it); `high` null = beyond the
   * largest (both null when not within the measured lengths)
   */
  interval: { low: number | null; high: number | null };
  /** the lengths both series measured */
  seqLens: number[];
  /** exponents of the bytes that depend on n, between each series' two largest lengths */
  memoryExponents: { series: number | null; reference: number | null };
}

/**
 * The length from which `candidateMs` stays below `referenceMs`: after the last common length where
 * it is not faster, interpolated in log–log to the next one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // t ∝ n against t ∝ n²/1000: equal at n = 1000
 * const at = crossoverLength([100, 10000], [100, 10000], [10, 100000]);
 * assert.ok(Math.abs(at.seqLen! - 1000) < 1e-9);
 * ```
 */
export function crossoverLength(
  seqLens: readonly number[],
  candidateMs: readonly number[],
  referenceMs: readonly number[],
): CrossoverPoint {
  // log(candidate / reference): negative where the candidate is faster
  const gaps = seqLens.map((_, i) => Math.log(candidateMs[i]! / referenceMs[i]!));
  const last = gaps.findLastIndex((gap) => !(gap < 0));
  if (last === -1) return { outcome: "faster-throughout", seqLen: null };
  if (last === gaps.length - 1) return { outcome: "not-within", seqLen: null };
  const [g1, g2] = [gaps[last]!, gaps[last + 1]!];
  if (g1 === 0) return { outcome: "crossed", seqLen: seqLens[last]! };
  const [x1, x2] = [Math.log(seqLens[last]!), Math.log(seqLens[last + 1]!)];
  return { outcome: "crossed", seqLen: Math.exp(x1 + (x2 - x1) * g1 / (g1 - g2)) };
}

/** The axes a candidate and its reference share. */
const SHARED_AXES = ["batch", "dModel", "heads", "kvHeads", "pass"] as const;

/** The configuration a sub-quadratic configuration is compared with, or null when it is not one. */
export function referenceConfiguration(
  configuration: Configuration,
  configurations: readonly Configuration[],
): Configuration | null {
  const sliding = configuration.window > 0;
  if (!sliding && configuration.attention !== "linear") return null;
  const withMask = (mask: string) =>
    configurations.find((c) =>
      c.mask === mask && c.attention === "softmax" &&
      SHARED_AXES.every((axis) => c[axis] === configuration[axis])
    );
  return (sliding ? withMask("causal") ?? withMask("full") : withMask(configuration.mask)) ?? null;
}

/** The reference implementation: the CPU path for the CPU, else fused at the same precision. */
function _referenceImplementation(series: SeriesResult): string {
  if (series.device === "cpu") return "cpu";
  return implementationName({
    device: "gpu",
    variant: "fused",
    precision: series.precision ?? "f32",
  });
}

/** The crossover of one candidate series with its reference series, or null without a common length. */
export function seriesCrossover(
  candidate: SeriesResult,
  reference: SeriesResult,
): Crossover | null {
  const common = candidate.points
    .map((p) => [measuredPoint(candidate, p.seqLen), measuredPoint(reference, p.seqLen)] as const)
    .filter(([c, r]) => c !== undefined && r !== undefined)
    .map(([c, r]) => ({ seqLen: c!.seqLen, c: c!.wallMsSummary!, r: r!.wallMsSummary! }))
    .sort((a, b) => a.seqLen - b.seqLen);
  if (common.length === 0) return null;
  const seqLens = common.map((p) => p.seqLen);
  // a bound at or below zero (a wide interval of few runs) allows any speed: a tiny positive time
  const bound = (value: number, mean: number) =>
    Number.isFinite(value) ? Math.max(value, mean * Number.EPSILON) : mean;
  const mean = crossoverLength(seqLens, common.map((p) => p.c.mean), common.map((p) => p.r.mean));
  const earliest = crossoverLength(
    seqLens,
    common.map((p) => bound(p.c.ci95[0], p.c.mean)),
    common.map((p) => bound(p.r.ci95[1], p.r.mean)),
  );
  const latest = crossoverLength(
    seqLens,
    common.map((p) => bound(p.c.ci95[1], p.c.mean)),
    common.map((p) => bound(p.r.ci95[0], p.r.mean)),
  );
  return {
    series: candidate.name,
    configurationId: candidate.configurationId ?? "",
    reference: reference.name,
    referenceConfigurationId: reference.configurationId ?? "",
    outcome: mean.outcome,
    seqLen: mean.seqLen,
    interval: {
      low: earliest.seqLen,
      high: latest.outcome === "faster-throughout" ? seqLens[0]! : latest.seqLen,
    },
    seqLens,
    memoryExponents: {
      series: memoryGrowth(candidate)?.exponent ?? null,
      reference: memoryGrowth(reference)?.exponent ?? null,
    },
  };
}

/** Every sub-quadratic series' crossover with fused softmax attention, where both were measured. */
export function findCrossovers(results: ProfileResults): Crossover[] {
  const configurations = results.configurations ?? [];
  return results.series.flatMap((candidate) => {
    const configuration = configurationOf(results, candidate);
    const referenceConfig = configuration && referenceConfiguration(configuration, configurations);
    if (!referenceConfig) return [];
    const implementation = _referenceImplementation(candidate);
    const reference = results.series.find((s) =>
      s.configurationId === referenceConfig.id && implementationOf(s) === implementation
    );
    const crossover = reference && seriesCrossover(candidate, reference);
    return crossover ? [crossover] : [];
  });
}
