/**
 * The bytes each stage must move at least (f32: every input read once, every output written
 * once), for its achieved GB/s beside its GFLOP/s, both as shares of the calibrated ceilings.
 *
 * @module
 */

import type { AttentionShape } from "./shape.ts";

const F32 = 4;

/**
 * Least bytes read + written by a stage (naive or fused variant's stage names).
 *
 * @example
 * ```ts
 * const bytes = stageBytes({ seqLen: 1024, dModel: 512, heads: 8 }, "softmax");
 * console.assert(bytes === 2 * 4 * 8 * 1024 * 1024);
 * ```
 */
export function stageBytes(shape: AttentionShape, stage: string): number {
  const { seqLen: n, dModel: d, heads: h } = shape;
  const scores = h * n * n;
  switch (stage) {
    case "projection_qkv": // x, [w_q|w_k|w_v], biases in; q, k, v out
      return F32 * (n * d + 3 * d * d + 3 * d + 3 * n * d);
    case "scores": // q, k in; scores out
      return F32 * (2 * n * d + scores);
    case "softmax": // scores in and out
      return F32 * 2 * scores;
    case "weighted_values": // probabilities, v in; heads out
      return F32 * (scores + 2 * n * d);
    case "flash_attention": // q, k, v in; heads out
      return F32 * 4 * n * d;
    case "output_projection": // heads, w_o, bias in; out
      return F32 * (2 * n * d + d * d + d);
    default:
      throw new Error(`unknown stage ${stage}`);
  }
}
