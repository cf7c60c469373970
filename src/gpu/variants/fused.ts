/**
 * The fused variant's GPU stage: one flash-attention kernel (online softmax over key blocks, no
 * score matrix: O(n) memory), which also keeps each query's log-sum-exp for the backward. Its key loop runs over the keys the mask lets each query block see
 * (kernels/flash_attention_common.wgsl), so causal skips the blocks above the diagonal and
 * sliding:W visits O(n·W) keys.
 *
 * @module
 */

import { type KernelParameters, rowsPerWorkgroup, workgroupStorageBytes } from "../kernels.ts";
import type { PlanContext, VariantStages } from "../plan.ts";

/**
 * The widest head the fused kernel takes: it unrolls d_k / 4 vec4 registers per query row, and
 * lavapipe's compile time grows steeply with them (d_k = 64: seconds; 128: ~2 min; 512: > 4 min).
 */
export const MAX_FUSED_HEAD_WIDTH = 128;

/** The flash-attention stage, one dispatch over (query blocks, heads, sequences). */
export function planFused(context: PlanContext): VariantStages {
  const { n, dModel, dK, heads, kvHeads, batch, mask, kernels, limits, scale } = context;
  if (dK > MAX_FUSED_HEAD_WIDTH) {
    return {
      reason:
        `the fused kernel holds a query row of d_k floats in registers, unrolled: d_k = ${dK} ` +
        `is over its ${MAX_FUSED_HEAD_WIDTH} (a software adapter compiles such a kernel for minutes)`,
    };
  }
  const flash = fitTileKeys(kernels.flash_attention, dK / 4, limits.maxComputeWorkgroupStorageSize);
  return {
    stages: [[{
      kernel: "flash_attention",
      parameters: flash,
      // kernels/flash_attention_common.wgsl's Params
      params: [
        n,
        mask.ahead,
        mask.behind,
        dModel / 4,
        kvHeads * dK / 4,
        heads / kvHeads,
        scale,
        heads,
      ],
      bindings: ["q", "k", "v", "concat", "lse"],
      grid: [Math.ceil(n / rowsPerWorkgroup(flash)), heads, batch],
    }]],
    windows: [],
    // each query's log-sum-exp (f32), which the fused backward reads instead of the scores
    buffers: [{ name: "lse", bytes: 4 * batch * heads * n }],
  };
}

/**
 * Halve a workgroup-tile flash kernel's staged keys while its tiles overflow the device's
 * workgroup memory and a half still holds whole steps: parameters tuned at d_k 64 then still run
 * wider heads. What cannot fit even so is refused by the preflight.
 */
function fitTileKeys(
  parameters: KernelParameters,
  headBlocks: number,
  limitBytes: number,
): KernelParameters {
  if (parameters.layout !== "workgroup-tiles") return parameters;
  const withKeys = (keys: number) => ({
    ...parameters,
    template: { ...parameters.template, TILE_KEYS: keys },
  });
  const step = 4 * parameters.template.KEY_BLOCKS!;
  let keys = parameters.template.TILE_KEYS!;
  const bytes = (k: number) =>
    workgroupStorageBytes("flash_attention", withKeys(k), { HEAD_BLOCKS: headBlocks });
  while (bytes(keys) > limitBytes && (keys / 2) % step === 0 && keys / 2 >= step) keys /= 2;
  return keys === parameters.template.TILE_KEYS ? parameters : withKeys(keys);
}
