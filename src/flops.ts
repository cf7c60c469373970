/**
 * Theoretical work of one attention forward, per stage.
 *
 * Convention (stated beside every number in the report, the JSON and the README):
 * - MACs are the seed's multiply-accumulate counts: projections 3·n·d², Q·Kᵀ n²·d_k·h,
 *   A·V n²·d_k·h, output projection n·d².
 * - FLOPs = 2 · MACs (a multiply and an add per MAC), plus the elementwise work the MACs miss:
 *   the 1/√d_k scale (1 FLOP per score) and the softmax (5 FLOPs per score: max, subtract, exp,
 *   sum, divide — exp counted as one). Bias additions (n·d per projection, < 0.1 %) are not counted.
 *
 * @module
 */

import type { AttentionShape } from "./shape.ts";
import type { FlopsAtLength } from "./results.ts";

/** The stages of the forward, in execution order (the naive GPU variant's kernels). */
export const STAGE_NAMES = [
  "projection_qkv",
  "scores",
  "softmax",
  "weighted_values",
  "output_projection",
] as const;

/** One stage of the forward. */
export type StageName = typeof STAGE_NAMES[number];

/** FLOPs per score of the softmax: max, subtract, exp, sum, divide. */
export const SOFTMAX_FLOPS_PER_SCORE = 5;

/** The convention in one sentence, recorded in the JSON and printed with the report. */
export const FLOPS_CONVENTION =
  "MACs: projections 3·n·d², Q·Kᵀ n²·d_k·h, A·V n²·d_k·h, output projection n·d². " +
  "FLOPs = 2·MACs + scale (1 per score) + softmax (5 per score); bias additions not counted.";

/** Multiply-accumulates per stage (the seed's formulas). */
export function macsByStage(shape: AttentionShape): Record<StageName, number> {
  const { seqLen: n, dModel: d, heads: h } = shape;
  const dK = d / h;
  return {
    projection_qkv: 3 * n * d * d,
    scores: n * n * dK * h,
    softmax: 0,
    weighted_values: n * n * dK * h,
    output_projection: n * d * d,
  };
}

/**
 * FLOPs and MACs of one forward.
 *
 * @example
 * ```ts
 * const work = attentionFlops({ seqLen: 1000, dModel: 512, heads: 8 });
 * console.assert(work.macsByStage.projection_qkv === 3 * 1000 * 512 * 512);
 * ```
 */
export function attentionFlops(shape: AttentionShape): FlopsAtLength {
  const macs = macsByStage(shape);
  const scoreCount = shape.seqLen * shape.seqLen * shape.heads;
  const flops: Record<StageName, number> = {
    projection_qkv: 2 * macs.projection_qkv,
    scores: 2 * macs.scores + scoreCount, // + the 1/√d_k scale of every score
    softmax: SOFTMAX_FLOPS_PER_SCORE * scoreCount,
    weighted_values: 2 * macs.weighted_values,
    output_projection: 2 * macs.output_projection,
  };
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
 * FLOPs of a group of stages: a GPU stage such as `flash_attention` fuses scores, softmax and
 * weighted values, so its work is theirs together.
 */
export function stageFlops(work: FlopsAtLength, gpuStage: string): number {
  if (gpuStage === "flash_attention") {
    return work.flopsByStage.scores! + work.flopsByStage.softmax! +
      work.flopsByStage.weighted_values!;
  }
  const flops = work.flopsByStage[gpuStage];
  if (flops === undefined) throw new Error(`unknown stage ${gpuStage}`);
  return flops;
}
