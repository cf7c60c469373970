/**
 * How linear attention cuts the keys into chunks (kernels/linear_common.wgsl): one state per chunk
 * of keys; the full mask then sums the chunks' states into one, the causal mask turns them into
 * prefix sums over chunks and adds each query's own chunk key by key. Chunks keep the state
 * kernel's keys in cache and give it parallel work (one pass over 16384 keys per state was 16×
 * slower than 4096 keys, not 4×). Shared by the GPU planner and the work formulas.
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "../shape.ts";

/** Keys per chunk of the causal mask: short chunks keep the key-by-key part small. */
export const CAUSAL_CHUNK_KEYS = 64;

/** Keys per chunk of the full mask. */
export const FULL_CHUNK_KEYS = 256;

/** The chunking of a shape: keys per chunk and chunks per sequence. */
export function linearChunks(shape: AttentionShape): { chunkKeys: number; chunks: number } {
  const s = resolveShape(shape);
  const chunkKeys = Math.min(s.mask === "causal" ? CAUSAL_CHUNK_KEYS : FULL_CHUNK_KEYS, s.seqLen);
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
