/**
 * The bytes each stage must move at least (every input read once, every output written once),
 * for its achieved GB/s beside its GFLOP/s, both as shares of the calibrated ceilings. The
 * formula of each stage is beside it in src/variants/stages.ts.
 *
 * @module
 */

import type { AttentionShape } from "./shape.ts";
import { stageSpec } from "./variants/stages.ts";

/**
 * Least bytes read + written by a stage, `elementBytes` per element (default 4: f32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bytes = stageBytes({ seqLen: 1024, dModel: 512, heads: 8 }, "softmax");
 * assert.deepEqual(bytes, 2 * 4 * 8 * 1024 * 1024);
 * ```
 */
export function stageBytes(shape: AttentionShape, stage: string, elementBytes = 4): number {
  const spec = stageSpec(stage);
  if (spec === undefined) throw new Error(`unknown stage ${stage}`);
  return spec.leastBytes(shape, elementBytes);
}
