/**
 * The gradients of one backward: of L = Σ(out ⊙ dOut) for an upstream gradient dOut, with respect
 * to x and every weight and bias, each in its tensor's shape. A low module: the file
 * writers and the paths import it without loading either path.
 *
 * @module
 */

import type { AttentionWeights } from "./shape.ts";

/** Every tensor a backward differentiates: x and the keys of {@link AttentionWeights}. */
export type GradientName = "x" | keyof AttentionWeights;

/** Gradients of L, one array per tensor, each shaped like its tensor. */
export type AttentionGradients<T = Float32Array> = Record<GradientName, T>;

/**
 * Every gradient in report order, with the snake_case name of its tensor as files write it
 * (`grad_<file name>_<series>` in a tensor dump).
 */
export const GRADIENTS: readonly { name: GradientName; fileName: string }[] = [
  { name: "x", fileName: "x" },
  { name: "wQ", fileName: "w_q" },
  { name: "bQ", fileName: "b_q" },
  { name: "wK", fileName: "w_k" },
  { name: "bK", fileName: "b_k" },
  { name: "wV", fileName: "w_v" },
  { name: "bV", fileName: "b_v" },
  { name: "wO", fileName: "w_o" },
  { name: "bO", fileName: "b_o" },
];

/** A backward's raw results: the Q|K|V projection's gradients side by side, and the rest. */
export interface ConcatenatedGradients {
  x: Float32Array;
  /** [d_model, d_model + 2·kv]: the gradients of w_q | w_k | w_v, row by row */
  wQkv: Float32Array;
  /** [d_model + 2·kv]: of b_q | b_k | b_v */
  bQkv: Float32Array;
  wO: Float32Array;
  bO: Float32Array;
}

/**
 * Every gradient in its tensor's shape, from the concatenated Q|K|V gradients both backward paths
 * compute (the projection ran as one matmul over [w_q | w_k | w_v]); `kvWidth` = kv_heads·d_k.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // d_model 1, kv width 1: one row [q | k | v]
 * const g = splitQkvGradients({
 *   x: new Float32Array(1), wQkv: Float32Array.of(1, 2, 3), bQkv: Float32Array.of(4, 5, 6),
 *   wO: new Float32Array(1), bO: new Float32Array(1),
 * }, 1, 1);
 * assert.deepEqual([g.wK[0], g.bV[0]], [2, 6]);
 * ```
 */
export function splitQkvGradients(
  raw: ConcatenatedGradients,
  dModel: number,
  kvWidth: number,
): AttentionGradients {
  const width = dModel + 2 * kvWidth;
  const columns = (first: number, count: number) => {
    const out = new Float32Array(dModel * count);
    for (let r = 0; r < dModel; r++) {
      out.set(raw.wQkv.subarray(r * width + first, r * width + first + count), r * count);
    }
    return out;
  };
  return {
    x: raw.x,
    wQ: columns(0, dModel),
    bQ: raw.bQkv.slice(0, dModel),
    wK: columns(dModel, kvWidth),
    bK: raw.bQkv.slice(dModel, dModel + kvWidth),
    wV: columns(dModel + kvWidth, kvWidth),
    bV: raw.bQkv.slice(dModel + kvWidth, width),
    wO: raw.wO,
    bO: raw.bO,
  };
}
