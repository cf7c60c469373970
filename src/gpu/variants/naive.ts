/**
 * The naive variant's GPU stages: scores, softmax, weighted values — every head's scores stored.
 * Per (sequence, head) slab it stores one row per query: the whole row for full and causal (n × n,
 * O(n²) memory), only the band of keys for sliding:W (n × ~W). Causal stores the whole row but
 * computes only the blocks that meet the lower triangle, and the softmax and P·V step only over
 * each query's keys (kernels/score_window.wgsl). The scores are spread over as many buffers as
 * needed, each within the largest storage binding: a window holds several whole slabs, or a range
 * of query rows of one slab.
 *
 * @module
 */

import { colVecsPerWorkgroup, rowsPerWorkgroup } from "../kernels.ts";
import { keySpanVecs, scoreRowVecs } from "../mask_bounds.ts";
import type { Dispatch, PlanContext, ScoreWindow, VariantStages } from "../plan.ts";

/** Split every slab's stored scores into windows that each fit one binding, or say why not. */
function scoreWindows(context: PlanContext): ScoreWindow[] | { reason: string } {
  const { n, heads, batch, elementBytes, maxWindowBytes } = context;
  const rowBytes = 4 * scoreRowVecs(context.shape) * elementBytes;
  const slabBytes = n * rowBytes;
  const slabCount = batch * heads;
  if (rowBytes > maxWindowBytes) {
    return {
      reason: `one score row (${rowBytes} bytes) exceeds the largest binding (${maxWindowBytes} ` +
        `bytes)`,
    };
  }
  const windows: ScoreWindow[] = [];
  if (slabBytes <= maxWindowBytes) {
    const slabsPerWindow = Math.min(slabCount, Math.floor(maxWindowBytes / slabBytes));
    for (let firstSlab = 0; firstSlab < slabCount; firstSlab += slabsPerWindow) {
      const slabs = Math.min(slabsPerWindow, slabCount - firstSlab);
      windows.push({ firstSlab, slabs, firstRow: 0, rows: n, bytes: slabs * slabBytes });
    }
    return windows;
  }
  const count = Math.ceil(n / Math.floor(maxWindowBytes / rowBytes));
  const rowsPerWindow = Math.ceil(n / count);
  for (let slab = 0; slab < slabCount; slab++) {
    for (let firstRow = 0; firstRow < n; firstRow += rowsPerWindow) {
      const rows = Math.min(rowsPerWindow, n - firstRow);
      windows.push({ firstSlab: slab, slabs: 1, firstRow, rows, bytes: rows * rowBytes });
    }
  }
  return windows;
}

/** kernels/score_window.wgsl's Params of one window: the same for its three kernels. */
function windowParams(context: PlanContext, w: ScoreWindow): Dispatch["params"] {
  const { n, dModel, dK, heads, kvHeads, mask, scale } = context;
  return [
    n,
    mask.ahead,
    mask.behind,
    scoreRowVecs(context.shape),
    dModel / 4,
    kvHeads * dK / 4,
    dK / 4,
    heads,
    heads / kvHeads,
    w.firstSlab,
    w.firstRow,
    w.rows,
    w.slabs,
    scale,
  ];
}

/** Scores, softmax and weighted values over each score window. */
export function planNaive(context: PlanContext): VariantStages {
  const windows = scoreWindows(context);
  if ("reason" in windows) return windows;
  const { dK, kernels } = context;
  const { scores, softmax, weighted_values: weighted } = kernels;
  // the scores' key groups cover the keys that a workgroup's rows see together
  const keyGroups = Math.ceil(
    keySpanVecs(context.shape, rowsPerWorkgroup(scores)) / colVecsPerWorkgroup(scores),
  );
  const scoreDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "scores",
    parameters: scores,
    params: windowParams(context, w),
    bindings: ["q", "k", { window: index }],
    grid: [Math.ceil(w.rows / rowsPerWorkgroup(scores)), keyGroups, w.slabs],
  }));
  const softmaxDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "softmax",
    parameters: softmax,
    params: windowParams(context, w),
    bindings: [{ window: index }],
    grid: [Math.ceil(w.slabs * w.rows / softmax.workgroupSize), 1, 1],
  }));
  const weightedDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "weighted_values",
    parameters: weighted,
    params: windowParams(context, w),
    bindings: [{ window: index }, "v", "concat"],
    grid: [
      Math.ceil(w.rows / rowsPerWorkgroup(weighted)),
      Math.ceil(dK / 4 / colVecsPerWorkgroup(weighted)),
      w.slabs,
    ],
  }));
  return { stages: [scoreDispatches, softmaxDispatches, weightedDispatches], windows };
}
