/**
 * The linear variant's GPU stages (kernels/linear_*.wgsl): per-chunk states S = Σ φ(k)vᵀ and
 * z = Σ φ(k), their sum (full mask) or prefix sums over chunks (causal), and the output
 * φ(q)ᵀS / φ(q)ᵀz. O(n·d_k²) work and O(n) memory: no score is stored.
 *
 * @module
 */

import { resolveShape } from "../../shape.ts";
import { linearChunks } from "../../variants/linear_chunks.ts";
import type { Dispatch, PlanContext, VariantStages } from "../plan.ts";

/** The widest head the output kernel keeps φ(q) of (MAX_HEAD_DIM4 in linear_output.wgsl). */
export const MAX_LINEAR_HEAD_WIDTH = 128;

/** State, prefix and output stages over every sequence and kv head. */
export function planLinear(context: PlanContext): VariantStages {
  const { dK, heads, dModel, kernels } = context;
  if (dK > MAX_LINEAR_HEAD_WIDTH) {
    return { reason: `the linear kernels take d_k ≤ ${MAX_LINEAR_HEAD_WIDTH}, not ${dK}` };
  }
  const shape = resolveShape(context.shape);
  const { chunkKeys, chunks } = linearChunks(shape);
  const dK4 = dK / 4;
  const causal = shape.mask === "causal";
  const sequencesTimesKvHeads = shape.batch * shape.kvHeads;
  const slotFloats = dK * dK + dK;
  const params = [
    shape.seqLen,
    dModel / 4,
    shape.kvHeads * dK4,
    dK4,
    heads / shape.kvHeads,
    chunkKeys,
    chunks,
    causal ? 1 : 0,
  ];
  const grid = (invocations: number, workgroupSize: number) =>
    Math.ceil(invocations / workgroupSize);
  const state: Dispatch = {
    kernel: "linear_state",
    parameters: kernels.linear_state,
    params,
    bindings: ["k", "v", "linearState"],
    grid: [grid(dK4 * dK4, kernels.linear_state.workgroupSize), chunks, sequencesTimesKvHeads],
  };
  const prefix: Dispatch = {
    kernel: "linear_prefix",
    parameters: kernels.linear_prefix,
    params,
    bindings: ["linearState"],
    grid: [grid(slotFloats / 4, kernels.linear_prefix.workgroupSize), 1, sequencesTimesKvHeads],
  };
  const output: Dispatch = {
    kernel: "linear_output",
    parameters: kernels.linear_output,
    params,
    bindings: ["q", "k", "v", "linearState", "concat"],
    grid: [grid(shape.batch * shape.seqLen, kernels.linear_output.workgroupSize), heads, 1],
  };
  return {
    stages: [[state], [prefix], [output]],
    windows: [],
    // states are f32 whatever the storage precision
    buffers: [{ name: "linearState", bytes: 4 * sequencesTimesKvHeads * chunks * slotFloats }],
  };
}
