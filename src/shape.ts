/**
 * The shape of one multi-head self-attention forward and the tensors it reads.
 *
 * Conventions (README.md, "What is measured"): row-major f32; `x` is [batch, seqLen, dModel];
 * weights are [in, out] so
 * `q = x @ wQ + bQ`; head h owns q columns h·dK … (h+1)·dK − 1 with dK = dModel / heads and reads
 * kv head ⌊h / (heads / kvHeads)⌋, whose k and v columns are kvHead·dK … (kvHead+1)·dK − 1 of
 * [batch·seqLen, kvHeads·dK].
 *
 * The optional fields default to the seed experiment's configuration (batch 1, kvHeads = heads,
 * mask `full`, softmax attention), so `{ seqLen, dModel, heads }` still names it exactly.
 *
 * @module
 */

/** Which keys each query sees: all (`full`), j ≤ i (`causal`), i − W < j ≤ i (`sliding`). */
export type MaskName = "full" | "causal" | "sliding";

/** Every mask, in report order. */
export const MASK_NAMES: readonly MaskName[] = ["full", "causal", "sliding"];

/** Softmax attention, or kernelised linear attention (φ(x) = elu(x) + 1). */
export type AttentionKind = "softmax" | "linear";

/** Every attention kind, in report order. */
export const ATTENTION_KINDS: readonly AttentionKind[] = ["softmax", "linear"];

/** Sizes of one forward. */
export interface AttentionShape {
  /** the sequence length n */
  seqLen: number;
  /** the model width d_model */
  dModel: number;
  /** the number of query heads */
  heads: number;
  /** independent sequences in one forward (x is [batch, seqLen, dModel]); default 1 */
  batch?: number;
  /** key/value heads (grouped-query attention; 1 = multi-query); divides heads; default heads */
  kvHeads?: number;
  /** default `full` */
  mask?: MaskName;
  /** W of the `sliding` mask (the W most recent keys, the query's own included); else unused */
  window?: number;
  /** default `softmax` */
  attention?: AttentionKind;
}

/** An AttentionShape with every default filled in (`window` is 0 unless the mask is sliding). */
export type ResolvedShape = Required<AttentionShape>;

/** The four projections' weights (stored [in, out]) and biases. */
export interface AttentionWeights {
  /** [dModel, dModel] */
  wQ: Float32Array;
  /** [dModel] */
  bQ: Float32Array;
  /** [dModel, kvHeads·dK] */
  wK: Float32Array;
  /** [kvHeads·dK] */
  bK: Float32Array;
  /** [dModel, kvHeads·dK] */
  wV: Float32Array;
  /** [kvHeads·dK] */
  bV: Float32Array;
  /** [dModel, dModel] */
  wO: Float32Array;
  /** [dModel] */
  bO: Float32Array;
}

/** Input activations and weights of one forward. */
export interface AttentionInputs {
  /** the shape these tensors have */
  shape: AttentionShape;
  /** [batch, seqLen, dModel] */
  x: Float32Array;
  /** the projection weights and biases */
  weights: AttentionWeights;
}

/** Width of one head: dModel / heads. */
export function headWidth(shape: AttentionShape): number {
  return shape.dModel / shape.heads;
}

/** The shape with every default filled in. */
export function resolveShape(shape: AttentionShape): ResolvedShape {
  const mask = shape.mask ?? "full";
  return {
    seqLen: shape.seqLen,
    dModel: shape.dModel,
    heads: shape.heads,
    batch: shape.batch ?? 1,
    kvHeads: shape.kvHeads ?? shape.heads,
    mask,
    window: mask === "sliding" ? shape.window ?? 0 : 0,
    attention: shape.attention ?? "softmax",
  };
}

/** Columns of k (and of v): kvHeads·dK. */
export function kvWidth(shape: AttentionShape): number {
  return (shape.kvHeads ?? shape.heads) * headWidth(shape);
}

/** The kv head that query head `head` reads: ⌊head / (heads / kvHeads)⌋. */
export function kvHeadOf(shape: AttentionShape, head: number): number {
  return Math.floor(head / (shape.heads / (shape.kvHeads ?? shape.heads)));
}

/**
 * The keys query `query` sees, as the half-open range [first, end) of key indices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(keyRange({ seqLen: 8, dModel: 8, heads: 1, mask: "causal" }, 2), [0, 3]);
 * assert.deepEqual(keyRange({ seqLen: 8, dModel: 8, heads: 1, mask: "sliding", window: 2 }, 5), [4, 6]);
 * ```
 */
export function keyRange(shape: AttentionShape, query: number): [number, number] {
  switch (shape.mask ?? "full") {
    case "full":
      return [0, shape.seqLen];
    case "causal":
      return [0, query + 1];
    case "sliding":
      return [Math.max(0, query + 1 - (shape.window ?? 0)), query + 1];
  }
}

/** Scores that the mask keeps, per head and sequence: Σ over queries of their key count. */
export function unmaskedScores(shape: AttentionShape): number {
  const n = shape.seqLen;
  switch (shape.mask ?? "full") {
    case "full":
      return n * n;
    case "causal":
      return n * (n + 1) / 2;
    case "sliding": {
      // queries i < W see i + 1 keys, the rest W
      const w = Math.min(shape.window ?? 0, n);
      return w * (w + 1) / 2 + (n - w) * w;
    }
  }
}
