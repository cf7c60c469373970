/**
 * Memory of one forward: theoretical bytes from the shapes alone, and a sampler of the process's
 * resident set size (the CPU path's measured-from-outside number, beside its exact typed-array peak).
 *
 * @module
 */

import type { AttentionShape } from "./shape.ts";

/** Heads whose n×n scores each path holds at once: the CPU path works head by head. */
export const CPU_SCORE_HEADS_LIVE = 1;

/** Theoretical bytes of one forward, by class. */
export interface TheoreticalMemory {
  bytesByClass: { weights: number; activations: number; scores: number };
  totalBytes: number;
}

/**
 * What a forward must hold at once: the four weight matrices and biases; x, Q, K, V, the
 * concatenated heads and the output ([n, d] each); and `scoreHeadsLive` heads of n×n scores
 * (all heads for the naive GPU variant, one at a time for the CPU path, none for the fused variant,
 * which keeps only O(n) running statistics), each element `bytesPerElement` bytes (4: f32; 2: the
 * GPU variants' f16 storage).
 *
 * @example
 * ```ts
 * const fused = theoreticalMemory({ seqLen: 1000, dModel: 512, heads: 8 }, 0);
 * console.assert(fused.bytesByClass.scores === 0);
 * ```
 */
export function theoreticalMemory(
  shape: AttentionShape,
  scoreHeadsLive: number,
  bytesPerElement = 4,
): TheoreticalMemory {
  const { seqLen: n, dModel: d } = shape;
  const bytesByClass = {
    weights: bytesPerElement * (4 * d * d + 4 * d),
    activations: bytesPerElement * 6 * n * d, // x, q, k, v, concatenated heads, output
    scores: bytesPerElement * scoreHeadsLive * n * n,
  };
  return {
    bytesByClass,
    totalBytes: bytesByClass.weights + bytesByClass.activations + bytesByClass.scores,
  };
}

/**
 * Samples the resident set size while work runs on other threads. Timers only fire while the main
 * thread is free, so this suits the CPU path (workers compute, the main thread waits); the final
 * sample is taken at `stop()` so a short forward still gets one.
 */
export class RssSampler {
  readonly #baselineBytes: number;
  #peakBytes: number;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Start sampling every `intervalMs` milliseconds from the current RSS as baseline. */
  constructor(intervalMs = 2) {
    this.#baselineBytes = Deno.memoryUsage().rss;
    this.#peakBytes = this.#baselineBytes;
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    this.#peakBytes = Math.max(this.#peakBytes, Deno.memoryUsage().rss);
  }

  /** Stop sampling; the peak RSS above the baseline, in bytes. */
  stop(): number {
    this.#sample();
    clearInterval(this.#timer);
    return this.#peakBytes - this.#baselineBytes;
  }
}
