/**
 * Memory of one forward: theoretical bytes from the shapes alone, and a sampler of the process's
 * resident set size (the CPU path's measured-from-outside number, beside its exact typed-array peak).
 *
 * @module
 */

import { type AttentionShape, kvWidth, resolveShape } from "./shape.ts";

/** Theoretical bytes of one forward, by class. */
export interface TheoreticalMemory {
  /** bytes of the weights, the activations and the scores */
  bytesByClass: { weights: number; activations: number; scores: number };
  /** their sum */
  totalBytes: number;
}

/**
 * Score elements of one head of one sequence, as a path stores them: n×n, or the band n×W of a
 * sliding window; none for linear attention.
 */
export function scoreMatrixElements(shape: AttentionShape): number {
  const s = resolveShape(shape);
  if (s.attention === "linear") return 0; // linear attention computes no score
  return s.mask === "sliding" ? s.seqLen * Math.min(s.window, s.seqLen) : s.seqLen * s.seqLen;
}

/**
 * What a forward must hold at once: the four weight matrices and biases (w_k, w_v with kv_heads·d_k
 * columns); x, Q, the concatenated heads and the output ([B·n, d] each) and K, V ([B·n, kv]); and
 * `storedScoreElements` scores (every head's for the naive GPU variant, one head's at a time for
 * the CPU path, none for the fused variant, which keeps only O(n) running statistics), each element
 * `bytesPerElement` bytes (4: f32; 2: the GPU variants' f16 storage).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const fused = theoreticalMemory({ seqLen: 1000, dModel: 512, heads: 8 }, 0);
 * assert.deepEqual(fused.bytesByClass.scores, 0);
 * ```
 */
export function theoreticalMemory(
  shape: AttentionShape,
  storedScoreElements: number,
  bytesPerElement = 4,
): TheoreticalMemory {
  const { seqLen: n, dModel: d, batch } = resolveShape(shape);
  const kv = kvWidth(shape);
  const bytesByClass = {
    weights: bytesPerElement * (2 * d * d + 2 * d * kv + 2 * d + 2 * kv),
    // x, q, concatenated heads, output; k, v
    activations: bytesPerElement * batch * n * (4 * d + 2 * kv),
    scores: bytesPerElement * storedScoreElements,
  };
  return {
    bytesByClass,
    totalBytes: bytesByClass.weights + bytesByClass.activations + bytesByClass.scores,
  };
}

/**
 * What a backward must hold at once: everything its forward holds (with `storedScoreElements`
 * scores: what the forward kept, P or nothing, plus what the backward materialises), dOut and the
 * gradients of the heads' output, of q, k and v and of x ([B·n, …] each), and the gradients of
 * the weights and biases (their sizes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const shape = { seqLen: 1000, dModel: 512, heads: 8 };
 * assert.ok(theoreticalBackwardBytes(shape, 0) > theoreticalMemory(shape, 0).totalBytes);
 * ```
 */
export function theoreticalBackwardBytes(
  shape: AttentionShape,
  storedScoreElements: number,
  bytesPerElement = 4,
): number {
  const forward = theoreticalMemory(shape, storedScoreElements, bytesPerElement);
  const { seqLen: n, dModel: d, batch } = resolveShape(shape);
  const kv = kvWidth(shape);
  // dOut, dConcat, dx; dq, dk, dv
  const activationGradients = batch * n * (3 * d + d + 2 * kv);
  return forward.totalBytes + forward.bytesByClass.weights +
    bytesPerElement * activationGradients;
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
