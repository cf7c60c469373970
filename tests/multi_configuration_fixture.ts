/**
 * A schemaVersion-2 results file of several configurations, built from `fixtures/results_full.json`
 * (the seed configuration) by scaling its samples with known factors, so that every ratio the
 * analysis derives is known exactly:
 *
 * - causal: every time × {@link CAUSAL_FACTORS} of its implementation;
 * - kv_heads 2: wall × 0.9, measured peak bytes × {@link GQA_MEMORY_FACTOR}, the Q|K|V projection
 *   stage × {@link GQA_PROJECTION_FACTOR};
 * - batch 3: wall × {@link BATCH3_TIME_FACTOR} (so 3 / 2 = 1.5 × the tokens per second of batch 1);
 * - sliding:256: the causal times × (c / n)^k, crossing the fused causal time at exactly
 *   n = {@link SLIDING_CROSSOVERS} (gpu_fused; the other sliding series are 2× their causal time:
 *   not within the measured lengths);
 * - linear (full, CPU only): the full CPU times × 0.5 (faster at every length).
 */

import { join } from "node:path";
import {
  type Configuration,
  type ConfigurationGrid,
  configurationId,
  shapeOf,
} from "../src/configuration.ts";
import { attentionFlops } from "../src/flops.ts";
import { loadResults } from "../src/plot/load_results.ts";
import type { PointResult, ProfileResults, SeriesResult } from "../src/results.ts";
import { finalizeSeries } from "../src/summaries.ts";

/** Causal ÷ full time per implementation. */
export const CAUSAL_FACTORS: Readonly<Record<string, number>> = {
  cpu: 0.7,
  gpu_naive: 0.8,
  gpu_fused: 0.6,
};
export const GQA_MEMORY_FACTOR = 0.75;
export const GQA_PROJECTION_FACTOR = 0.6;
export const BATCH3_TIME_FACTOR = 2;
/** Where a sliding series crosses fused causal attention, and the exponent gap of the two. */
export const SLIDING_CROSSOVERS: Readonly<Record<string, { seqLen: number; power: number }>> = {
  gpu_fused: { seqLen: 300, power: 0.5 },
};

type Axes = Omit<Configuration, "id" | "dK">;

const SEED: Axes = {
  batch: 1,
  dModel: 512,
  heads: 8,
  kvHeads: 8,
  mask: "full",
  window: 0,
  attention: "softmax",
  pass: "forward",
};

function _configuration(axes: Partial<Axes>): Configuration {
  const all = { ...SEED, ...axes };
  return { id: configurationId(all), ...all, dK: all.dModel / all.heads };
}

/** The configurations of the fixture, in grid order. */
export const CONFIGURATIONS = {
  full: _configuration({}),
  causal: _configuration({ mask: "causal" }),
  sliding: _configuration({ mask: "sliding:256", window: 256 }),
  gqa: _configuration({ kvHeads: 2 }),
  batch3: _configuration({ batch: 3 }),
  linear: _configuration({ attention: "linear" }),
};

/** Multiply a point's times (every run, every stage or only `stage`) and optionally its memory. */
function _scalePoint(
  point: PointResult,
  time: number,
  options: { memory?: number; stage?: { index: number; factor: number } } = {},
): PointResult {
  const scaled: PointResult = structuredClone(point);
  delete scaled.wallMsSummary;
  delete scaled.kernelMsSummary;
  scaled.wallMs = point.wallMs.map((ms) => ms * time);
  scaled.kernelMs = point.kernelMs?.map((run) =>
    run.map((ms, i) =>
      options.stage ? (i === options.stage.index ? ms * options.stage.factor : ms) : ms * time
    )
  );
  if (scaled.memory && options.memory !== undefined) {
    scaled.memory.peakBytes = point.memory!.peakBytes * options.memory;
  }
  return scaled;
}

function _implementation(series: SeriesResult): string {
  return series.name.split("__")[0]!;
}

/** The seed series moved to `configuration`, each point scaled by `scale`. */
function _series(
  base: readonly SeriesResult[],
  configuration: Configuration,
  scale: (series: SeriesResult, point: PointResult) => PointResult,
  only?: (series: SeriesResult) => boolean,
): SeriesResult[] {
  return base.filter((s) => only?.(s) ?? true).map((seed) => {
    const series: SeriesResult = {
      ...structuredClone(seed),
      name: `${seed.name}__${configuration.id}`,
      configurationId: configuration.id,
      points: seed.points.map((point) => scale(seed, point)),
    };
    delete series.scaling;
    finalizeSeries(series);
    return series;
  });
}

function _slidingFactor(series: SeriesResult, seqLen: number): number {
  const crossing = SLIDING_CROSSOVERS[_implementation(series)];
  return crossing === undefined ? 2 : (crossing.seqLen / seqLen) ** crossing.power;
}

/** The multi-configuration results (fresh each call). */
export async function multiConfigurationResults(): Promise<ProfileResults> {
  const seed = await loadResults(join(import.meta.dirname!, "fixtures", "results_full.json"));
  const base = seed.series;
  const c = CONFIGURATIONS;
  const causalOf = (s: SeriesResult) => CAUSAL_FACTORS[_implementation(s)]!;
  const series = [
    ..._series(base, c.full, (_, p) => _scalePoint(p, 1)),
    ..._series(base, c.causal, (s, p) => _scalePoint(p, causalOf(s))),
    ..._series(
      base,
      c.sliding,
      (s, p) => _scalePoint(p, causalOf(s) * _slidingFactor(s, p.seqLen)),
    ),
    ..._series(base, c.gqa, (s, p) =>
      _scalePoint(p, 0.9, {
        memory: GQA_MEMORY_FACTOR,
        stage: s.stageNames ? { index: 0, factor: GQA_PROJECTION_FACTOR } : undefined,
      })),
    ..._series(base, c.batch3, (_, p) => _scalePoint(p, BATCH3_TIME_FACTOR)),
    ..._series(base, c.linear, (_, p) => _scalePoint(p, 0.5), (s) => s.device === "cpu"),
  ];
  const configurations = Object.values(c);
  const grid: ConfigurationGrid = {
    batch: [1, 3],
    dModel: [512],
    heads: [8],
    kvHeads: [8, 2],
    mask: ["full", "causal", "sliding:256"],
    attention: ["softmax", "linear"],
    pass: ["forward"],
  };
  return {
    ...seed,
    schemaVersion: 2,
    config: { ...seed.config, grid, precisions: ["f32"] },
    configurations,
    flops: configurations.flatMap((configuration) =>
      seed.config.seqLens.map((n) => ({
        ...attentionFlops(shapeOf(configuration, n)),
        configurationId: configuration.id,
      }))
    ),
    series,
  };
}
