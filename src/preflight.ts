/**
 * Preflight of the CPU path: will a point fit? Asked before anything is allocated, so a point too
 * large is skipped with its reason instead of taking the machine down. Two limits: the CPU path's
 * one WebAssembly memory (4 GiB, 32-bit addressing) and the memory this machine has available.
 * (The GPU's preflight against adapter limits is GpuAttention.preflight.)
 *
 * @module
 */

import type { PassName } from "./configuration.ts";
import { planBackwardLayout } from "./reference/backward_layout.ts";
import { LayoutTooLargeError, planLayout } from "./reference/memory_layout.ts";
import type { AttentionShape, ResolvedShape } from "./shape.ts";

/** Headroom over the planned bytes: input copies in the main thread, worker heaps, V8. */
export const CPU_MEMORY_HEADROOM = 1.25;

/** Whether a CPU point fits, with the bytes behind the answer. */
export type CpuPreflight =
  | { fits: true; bytesNeeded: number }
  | { fits: false; bytesNeeded: number; bytesAvailable: number; reason: string };

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Check a CPU point against the CPU path's memory plan and the available memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const fit = cpuPreflight({ seqLen: 100, dModel: 64, heads: 1 }, 2 ** 30);
 * assert(fit.fits);
 * ```
 */
export function cpuPreflight(
  shape: AttentionShape,
  availableBytes: number,
  workerCount = navigator.hardwareConcurrency,
  pass: PassName = "forward",
): CpuPreflight {
  let plannedBytes;
  try {
    plannedBytes = pass === "backward"
      ? planBackwardLayout(shape, workerCount).totalBytes // the forward's plan included
      : planLayout(shape, workerCount).totalBytes;
  } catch (error) {
    if (!(error instanceof LayoutTooLargeError)) throw error;
    return {
      fits: false,
      bytesNeeded: Infinity,
      bytesAvailable: availableBytes,
      reason: error.message,
    };
  }
  const bytesNeeded = Math.ceil(plannedBytes * CPU_MEMORY_HEADROOM);
  if (bytesNeeded <= availableBytes) return { fits: true, bytesNeeded };
  return {
    fits: false,
    bytesNeeded,
    bytesAvailable: availableBytes,
    reason: `needs ~${formatGiB(bytesNeeded)} of memory, ${formatGiB(availableBytes)} available`,
  };
}

/**
 * Why the CPU path does not run a configuration, or null when it does: it runs every batch,
 * kv-head count and mask of softmax attention, and linear attention with the `full` and `causal`
 * masks.
 */
export function cpuUnsupported(shape: ResolvedShape): string | null {
  return shape.attention === "linear" && shape.mask === "sliding"
    ? "linear attention supports the full and causal masks only"
    : null;
}
