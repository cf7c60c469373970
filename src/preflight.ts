/**
 * Preflight of the CPU path: will a point's buffers fit in the memory this machine has free?
 * Asked before anything is allocated, so a point too large is skipped with its reason instead of
 * taking the machine down. (The GPU's preflight against adapter limits is GpuAttention.preflight.)
 *
 * @module
 */

import { theoreticalMemory } from "./memory.ts";
import { CPU_SCORE_HEADS_LIVE } from "./reference/cpu_attention.ts";
import type { AttentionShape } from "./shape.ts";

/** Headroom over the theoretical bytes: input copies in the main thread, worker heaps, V8. */
export const CPU_MEMORY_HEADROOM = 1.5;

/** Whether a CPU point fits, with the bytes behind the answer. */
export type CpuPreflight =
  | { fits: true; bytesNeeded: number }
  | { fits: false; bytesNeeded: number; bytesAvailable: number; reason: string };

function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Check a CPU point against the available memory.
 *
 * @example
 * ```ts
 * const fit = cpuPreflight({ seqLen: 100, dModel: 64, heads: 1 }, 2 ** 30);
 * console.assert(fit.fits);
 * ```
 */
export function cpuPreflight(shape: AttentionShape, availableBytes: number): CpuPreflight {
  const bytesNeeded = Math.ceil(
    theoreticalMemory(shape, CPU_SCORE_HEADS_LIVE).totalBytes * CPU_MEMORY_HEADROOM,
  );
  if (bytesNeeded <= availableBytes) return { fits: true, bytesNeeded };
  return {
    fits: false,
    bytesNeeded,
    bytesAvailable: availableBytes,
    reason: `needs ~${formatGiB(bytesNeeded)} of memory, ${formatGiB(availableBytes)} available`,
  };
}
