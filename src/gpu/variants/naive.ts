/**
 * The naive variant's GPU stages: scores, softmax, weighted values — every head's n×n score
 * matrix stored (O(n²) memory). The scores are spread over as many buffers as needed, each within
 * the largest storage binding: a window holds several whole heads, or a range of query rows of one
 * head.
 *
 * @module
 */

import { colVecsPerWorkgroup, rowsPerWorkgroup } from "../kernels.ts";
import { seedConfigurationOnly } from "./unbuilt.ts";
import type { Dispatch, PlanContext, ScoreWindow, VariantStages } from "../plan.ts";

/** Split every head's score matrix into windows that each fit one binding, or say why not. */
function scoreWindows(context: PlanContext): ScoreWindow[] | { reason: string } {
  const { n, heads, nPad, elementBytes, maxWindowBytes } = context;
  const rowBytes = nPad * elementBytes;
  const headBytes = n * rowBytes;
  if (rowBytes > maxWindowBytes) {
    return {
      reason: `one score row (${rowBytes} bytes) exceeds the largest binding (${maxWindowBytes} ` +
        `bytes)`,
    };
  }
  const windows: ScoreWindow[] = [];
  if (headBytes <= maxWindowBytes) {
    const headsPerWindow = Math.min(heads, Math.floor(maxWindowBytes / headBytes));
    for (let firstHead = 0; firstHead < heads; firstHead += headsPerWindow) {
      const windowHeads = Math.min(headsPerWindow, heads - firstHead);
      windows.push({
        firstHead,
        heads: windowHeads,
        firstRow: 0,
        rows: n,
        bytes: windowHeads * headBytes,
      });
    }
    return windows;
  }
  const count = Math.ceil(n / Math.floor(maxWindowBytes / rowBytes));
  const rowsPerWindow = Math.ceil(n / count);
  for (let head = 0; head < heads; head++) {
    for (let firstRow = 0; firstRow < n; firstRow += rowsPerWindow) {
      const rows = Math.min(rowsPerWindow, n - firstRow);
      windows.push({ firstHead: head, heads: 1, firstRow, rows, bytes: rows * rowBytes });
    }
  }
  return windows;
}

/** Scores, softmax and weighted values over each score window. */
export function planNaive(context: PlanContext): VariantStages {
  const unbuilt = seedConfigurationOnly(context.shape);
  if (unbuilt !== null) return { reason: unbuilt };
  const windows = scoreWindows(context);
  if ("reason" in windows) return windows;
  const { n, dModel, dK, nPad, kernels, scale } = context;
  const nPad4 = nPad / 4, d4 = dModel / 4, dK4 = dK / 4;
  const { scores, softmax, weighted_values: weighted } = kernels;
  const scoreDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "scores",
    parameters: scores,
    params: [n, nPad4, d4, dK4, w.firstHead, w.firstRow, w.rows, scale],
    bindings: ["q", "k", { window: index }],
    grid: [
      Math.ceil(w.rows / rowsPerWorkgroup(scores)),
      Math.ceil(nPad4 / colVecsPerWorkgroup(scores)),
      w.heads,
    ],
  }));
  const softmaxDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "softmax",
    parameters: softmax,
    params: [n, nPad4, w.heads * w.rows],
    bindings: [{ window: index }],
    grid: [Math.ceil(w.heads * w.rows / softmax.workgroupSize), 1, 1],
  }));
  const weightedDispatches: Dispatch[] = windows.map((w, index) => ({
    kernel: "weighted_values",
    parameters: weighted,
    params: [n, nPad4, d4, dK4, w.firstHead, w.firstRow, w.rows],
    bindings: [{ window: index }, "v", "concat"],
    grid: [
      Math.ceil(w.rows / rowsPerWorkgroup(weighted)),
      Math.ceil(dK4 / colVecsPerWorkgroup(weighted)),
      w.heads,
    ],
  }));
  return { stages: [scoreDispatches, softmaxDispatches, weightedDispatches], windows };
}
