/**
 * How linear attention cuts the keys into chunks (kernels/linear_common.wgsl): the full mask sums
 * every key into one state; the causal mask keeps one state per chunk of keys — prefix sums over
 * chunks, then each query's own chunk key by key. Shared by the GPU planner and the work formulas.
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "../shape.ts";

/** Keys per chunk of the causal mask: short chunks keep the key-by-key part small. */
export const CAUSAL_CHUNK_KEYS = 64;

/** The chunking of a shape: keys per chunk and chunks per sequence. */
export function linearChunks(shape: AttentionShape): { chunkKeys: number; chunks: number } {
  const s = resolveShape(shape);
  const chunkKeys = s.mask === "causal" ? Math.min(CAUSAL_CHUNK_KEYS, s.seqLen) : s.seqLen;
  return { chunkKeys, chunks: Math.ceil(s.seqLen / chunkKeys) };
}

/**
 * Query–key pairs the causal mask handles key by key: within each chunk of L keys, L(L + 1)/2.
 */
export function linearIntraChunkPairs(shape: AttentionShape): number {
  const s = resolveShape(shape);
  if (s.mask !== "causal") return 0;
  const { chunkKeys, chunks } = linearChunks(shape);
  const last = s.seqLen - (chunks - 1) * chunkKeys;
  return (chunks - 1) * chunkKeys * (chunkKeys + 1) / 2 + last * (last + 1) / 2;
}
