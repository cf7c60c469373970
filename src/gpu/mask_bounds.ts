/**
 * The mask as the kernels read it (kernels/mask.wgsl), and what the naive variant stores of it:
 * query i sees keys [i + 1 − min(i + 1, behind), min(n, i + ahead)).
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "../shape.ts";

/** The two uniform values of kernels/mask.wgsl. */
export interface MaskBounds {
  /** key < query + ahead: 1 for causal and sliding, n (no bound) for full */
  ahead: number;
  /** key > query − behind: W for sliding:W, n (no bound) otherwise */
  behind: number;
}

/**
 * The mask bounds of a shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const shape = { seqLen: 9, dModel: 8, heads: 1, mask: "sliding" as const, window: 3 };
 * assert.deepEqual(maskBounds(shape), { ahead: 1, behind: 3 });
 * assert.deepEqual(maskBounds({ ...shape, mask: "full" as const }), { ahead: 9, behind: 9 });
 * ```
 */
export function maskBounds(shape: AttentionShape): MaskBounds {
  const { seqLen: n, mask, window } = resolveShape(shape);
  return { ahead: mask === "full" ? n : 1, behind: mask === "sliding" ? window : n };
}

/**
 * vec4 of keys the naive variant stores per score row: the whole row (n rounded up to 4) for full
 * and causal; for sliding:W, the ⌊(W + 2) / 4⌋ + 1 vec4 that cover any W consecutive keys,
 * starting at the vec4 of the query's first key (at most the whole row).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(scoreRowVecs({ seqLen: 1000, dModel: 8, heads: 1, mask: "sliding", window: 37 }), 10);
 * assert.equal(scoreRowVecs({ seqLen: 1000, dModel: 8, heads: 1, mask: "causal" }), 250);
 * ```
 */
export function scoreRowVecs(shape: AttentionShape): number {
  return keySpanVecs(shape, 1);
}

/**
 * vec4 of keys that `rows` consecutive queries see together, from the vec4 of the first one's first
 * key: the extent of a block of rows along the keys (the scores kernel's grid).
 */
export function keySpanVecs(shape: AttentionShape, rows: number): number {
  const { seqLen: n, mask, window } = resolveShape(shape);
  const wholeRow = Math.ceil(n / 4);
  if (mask !== "sliding") return wholeRow;
  return Math.min(wholeRow, Math.floor((window + rows - 1 + 2) / 4) + 1);
}
