/**
 * The shape of one multi-head self-attention forward and the tensors it reads.
 *
 * Conventions (DESIGN.md): row-major f32; `x` is [seqLen, dModel]; weights are [in, out] so
 * `q = x @ wQ + bQ`; head h owns columns h·dK … (h+1)·dK − 1 with dK = dModel / heads.
 *
 * @module
 */

/** Sizes of one forward. */
export interface AttentionShape {
  seqLen: number;
  dModel: number;
  heads: number;
}

/** The four projections' weights ([dModel, dModel], stored [in, out]) and biases ([dModel]). */
export interface AttentionWeights {
  wQ: Float32Array;
  bQ: Float32Array;
  wK: Float32Array;
  bK: Float32Array;
  wV: Float32Array;
  bV: Float32Array;
  wO: Float32Array;
  bO: Float32Array;
}

/** Input activations and weights of one forward. */
export interface AttentionInputs {
  shape: AttentionShape;
  /** [seqLen, dModel] */
  x: Float32Array;
  weights: AttentionWeights;
}

/** Width of one head: dModel / heads. */
export function headWidth(shape: AttentionShape): number {
  return shape.dModel / shape.heads;
}
