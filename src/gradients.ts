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
