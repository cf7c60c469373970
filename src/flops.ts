/**
 * Theoretical work of one attention forward, per stage, for any configuration. The formulas live
 * beside each stage in src/variants/stages.ts; this module tabulates them.
 *
 * Convention (stated beside every number in the report, the JSON and the README):
 * - MACs are the seed's multiply-accumulate counts, per configuration: projections
 *   B·n·d·(d + 2·kv), Q·Kᵀ and A·V B·h·S·d_k each (S: the scores the mask keeps per head,
 *   n² when full, n(n+1)/2 when causal), output projection B·n·d².
 * - FLOPs = 2 · MACs (a multiply and an add per MAC), plus the elementwise work the MACs miss:
 *   the 1/√d_k scale (1 FLOP per score) and the softmax (5 FLOPs per score: max, subtract, exp,
 *   sum, divide — exp counted as one). Bias additions (n·d per projection, < 0.1 %) are not counted.
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "./shape.ts";
import type { FlopsAtLength } from "./results.ts";
import { SEED_STAGE_NAMES, stageSpec } from "./variants/stages.ts";

/** The stages of the forward, in execution order (the naive GPU variant's kernels). */
export const STAGE_NAMES: typeof SEED_STAGE_NAMES = SEED_STAGE_NAMES;

/** One stage of the forward. */
export type StageName = typeof STAGE_NAMES[number];

export { SOFTMAX_FLOPS_PER_SCORE } from "./variants/stages.ts";

/** The convention in one sentence, recorded in the JSON and printed with the report. */
export const FLOPS_CONVENTION: string =
  "MACs: projections 3·n·d², Q·Kᵀ n²·d_k·h, A·V n²·d_k·h, output projection n·d² " +
  "(per configuration: × batch, K/V projections 2·n·d·kv_heads·d_k, n² → the unmasked scores: " +
  "n(n+1)/2 causal). FLOPs = 2·MACs + scale (1 per score) + softmax (5 per score); " +
  "bias additions not counted.";

/**
 * Attention FLOPs as FlashAttention's benchmarks count them (benchmark_flash_attention.py): the
 * two matmuls only, 4·B·n²·h·d_k, halved for a causal mask — an approximation that compares with
 * published numbers (the exact count of `attentionFlops` counts n(n+1)/2 causal scores).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const shape = { seqLen: 1024, dModel: 512, heads: 8, mask: "causal" as const };
 * assert.deepEqual(flashAttentionConventionFlops(shape), 4 * 1024 * 1024 * 512 / 2);
 * ```
 */
export function flashAttentionConventionFlops(shape: AttentionShape): number {
  const s = resolveShape(shape);
  const full = 4 * s.batch * s.seqLen * s.seqLen * s.dModel; // h·d_k = d_model
  return s.mask === "causal" ? full / 2 : full;
}

function _stage(name: string) {
  const spec = stageSpec(name);
  if (spec === undefined) throw new Error(`unknown stage ${name}`);
  return spec;
}

/** Multiply-accumulates per stage. */
export function macsByStage(shape: AttentionShape): Record<StageName, number> {
  return Object.fromEntries(
    STAGE_NAMES.map((name) => [name, _stage(name).work(shape).macs]),
  ) as Record<StageName, number>;
}

/**
 * FLOPs and MACs of one forward, per stage of `stageNames` (default: the seed's five stages).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const work = attentionFlops({ seqLen: 1000, dModel: 512, heads: 8 });
 * assert.deepEqual(work.macsByStage.projection_qkv, 3 * 1000 * 512 * 512);
 * ```
 */
export function attentionFlops(
  shape: AttentionShape,
  stageNames: readonly string[] = STAGE_NAMES,
): FlopsAtLength {
  const works = stageNames.map((name) => [name, _stage(name).work(shape)] as const);
  const macs = Object.fromEntries(works.map(([name, work]) => [name, work.macs]));
  const flops = Object.fromEntries(works.map(([name, work]) => [name, work.flops]));
  const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
  return {
    seqLen: shape.seqLen,
    macsByStage: macs,
    flopsByStage: flops,
    totalMacs: sum(macs),
    totalFlops: sum(flops),
  };
}

/**
 * FLOPs of a stage from a length's table: a GPU stage such as `flash_attention` fuses scores,
 * softmax and weighted values, so its work is theirs together.
 */
export function stageFlops(work: FlopsAtLength, gpuStage: string): number {
  return _stage(gpuStage).covers.reduce((sum, covered) => {
    const flops = work.flopsByStage[covered];
    if (flops === undefined) throw new Error(`no work of stage ${covered} at n=${work.seqLen}`);
    return sum + flops;
  }, 0);
}
