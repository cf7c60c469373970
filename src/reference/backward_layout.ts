/**
 * Where the tensors of one CPU backward live: after the forward's plan (whose x, weights, q, k, v
 * and concat the backward reads, as the forward left them) in the same shared memory. Like the
 * forward's, every region stays live for the whole backward, so the peak of live typed-array
 * bytes is their sum, the forward's included ({@link backwardMemory}).
 *
 * Shapes (N = batch·seqLen rows, w3 = dModel + 2·kvHeads·dK, G = heads / kvHeads):
 * - dOut, dConcat, dx: [N, dModel]; dQkv: [N, w3], the gradients of q, k and v side by side, so the
 *   input projections' backward is one matmul for dx and one for their weights (wCat = [wQ|wK|wV]);
 * - xT, concatT: [dModel, N] (A operands of the weight gradients xᵀ·dY);
 * - probabilities, dScores: [G·seqLen, seqLen], the P and dS rows of one kv head's query heads
 *   in one sequence, reused by every (sequence, kv head).
 *
 * @module
 */

import { type AttentionGradients, splitQkvGradients } from "../gradients.ts";
import { type AttentionShape, headWidth, kvWidth, resolveShape } from "../shape.ts";
import type { ForwardMemory } from "./cpu_attention.ts";
import { packedBFloats, TILE_FLOATS } from "./matmul.ts";
import {
  type AttentionLayout,
  BLOCK_ROWS,
  bytesByClass,
  LayoutTooLargeError,
  MAX_WASM_PAGES,
  planLayout,
  type Region,
  WASM_PAGE_BYTES,
} from "./memory_layout.ts";

/** Regions of the backward, after the forward's. */
export interface BackwardTensors {
  dOut: Region;
  dConcat: Region;
  xT: Region;
  concatT: Region;
  /** [dModel, w3]: wQ, wK, wV side by side */
  wCat: Region;
  /** wOᵀ packed for dConcat = dOut·wOᵀ */
  packedWoT: Region;
  /** dOut packed for dW_o = concatᵀ·dOut */
  packedDOut: Region;
  /** wCatᵀ packed for dx = dQkv·wCatᵀ */
  packedWCatT: Region;
  /** dQkv packed for dWCat = xᵀ·dQkv */
  packedDQkv: Region;
  dQkv: Region;
  probabilities: Region;
  dScores: Region;
  dx: Region;
  /** [dModel, w3]: dW_q, dW_k, dW_v side by side */
  dWCat: Region;
  /** [w3]: db_q, db_k, db_v */
  dbCat: Region;
  dWo: Region;
  dbO: Region;
  /** Int32 scheduling slots ({@link BackwardControl}), not f32 */
  control: Region;
}

/** Scratch one worker owns. */
export interface BackwardScratch {
  /** one kv head's kᵀ, vᵀ (for scores and dP) and k (for dQ), packed */
  packedKT: Region;
  packedVT: Region;
  packedK: Region;
  /** [dK, G·seqLen]: q, and dO, of a kv head's query heads, transposed and stacked */
  groupQT: Region;
  groupDOT: Region;
  /** one block of key columns of P or dS over the group's rows, packed */
  packedColumns: Region;
  /** [dK, BLOCK_ROWS]: dKᵀ or dVᵀ of one key block before it is stored transposed */
  resultT: Region;
  /** rowsum(dO ⊙ O) of one strip's rows */
  rowDots: Region;
  tile: Region;
}

/** The memory plan of a forward and its backward. */
export interface BackwardLayout {
  forward: AttentionLayout;
  tensors: BackwardTensors;
  scratch: BackwardScratch[];
  totalBytes: number;
  pages: number;
}

/** Int32 slots of the backward's control region, all zeroed before each backward. */
export const BackwardControl = {
  /** workers that finished a phase, counted over the backward: the barrier between phases */
  Arrivals: 0,
  /** first of one slot per phase: the next unit of that phase, handed out by Atomics.add */
  NextUnit: 1,
} as const;

const ALIGNMENT_BYTES = 64;

/**
 * Phases of a backward: prepare, output, a rows and a keys phase per (sequence, kv head), gather,
 * weights (`backward_kernels.ts`).
 */
export function backwardPhaseCount(shape: AttentionShape): number {
  const { batch, kvHeads } = resolveShape(shape);
  return 4 + 2 * batch * kvHeads;
}

/**
 * Plan the memory of a forward and its backward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const layout = planBackwardLayout({ seqLen: 10, dModel: 8, heads: 2 }, 2);
 * assert.ok(layout.tensors.probabilities.floats === 100);
 * ```
 */
export function planBackwardLayout(shape: AttentionShape, workerCount: number): BackwardLayout {
  const forward = planLayout(shape, workerCount);
  const { seqLen: n, dModel: d, heads, kvHeads, batch } = resolveShape(shape);
  const dK = headWidth(shape), rows = batch * n, w3 = d + 2 * kvWidth(shape);
  const groupRows = (heads / kvHeads) * n;
  let end = forward.totalBytes;
  const region = (floats: number, memoryClass: Region["memoryClass"]): Region => {
    const placed = { offset: end, floats, memoryClass };
    end += Math.ceil((floats * 4) / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
    return placed;
  };
  const tensors: BackwardTensors = {
    // biases first: gemm reads up to NR − 1 f32 past a bias's end (none here read one, but the
    // gradients' small regions are kept away from the end of the memory all the same)
    dbCat: region(w3, "activations"),
    dbO: region(d, "activations"),
    dOut: region(rows * d, "activations"),
    dConcat: region(rows * d, "activations"),
    xT: region(rows * d, "activations"),
    concatT: region(rows * d, "activations"),
    wCat: region(d * w3, "weights"),
    packedWoT: region(packedBFloats(d, d), "weights"),
    packedDOut: region(packedBFloats(rows, d), "activations"),
    packedWCatT: region(packedBFloats(w3, d), "weights"),
    packedDQkv: region(packedBFloats(rows, w3), "activations"),
    dQkv: region(rows * w3, "activations"),
    probabilities: region(groupRows * n, "scores"),
    dScores: region(groupRows * n, "scores"),
    dx: region(rows * d, "activations"),
    dWCat: region(d * w3, "weights"),
    dWo: region(d * d, "weights"),
    control: region(BackwardControl.NextUnit + backwardPhaseCount(shape), "activations"),
  };
  const scratch = Array.from({ length: workerCount }, () => ({
    packedKT: region(packedBFloats(dK, n), "activations"),
    packedVT: region(packedBFloats(dK, n), "activations"),
    packedK: region(packedBFloats(n, dK), "activations"),
    groupQT: region(dK * groupRows, "activations"),
    groupDOT: region(dK * groupRows, "activations"),
    packedColumns: region(packedBFloats(groupRows, BLOCK_ROWS), "activations"),
    resultT: region(dK * BLOCK_ROWS, "activations"),
    rowDots: region(BLOCK_ROWS, "activations"),
    tile: region(TILE_FLOATS, "activations"),
  }));
  const pages = Math.ceil(end / WASM_PAGE_BYTES);
  if (pages > MAX_WASM_PAGES) {
    throw new LayoutTooLargeError(
      `seqLen ${n}, dModel ${d}: the CPU backward needs ${(end / 2 ** 30).toFixed(2)} GiB in ` +
        `one WebAssembly memory, more than its 4 GiB limit`,
    );
  }
  return { forward, tensors, scratch, totalBytes: end, pages };
}

/** Every region of the backward's own part (the forward's are in `layout.forward`). */
export function backwardRegions(layout: BackwardLayout): Region[] {
  return [...Object.values(layout.tensors), ...layout.scratch.flatMap((s) => Object.values(s))];
}

/**
 * Copies of the gradients a backward left in `buffer`, each in its tensor's shape: dW_q, dW_k and
 * dW_v are the column ranges of dWCat, their biases' the ranges of dbCat.
 */
export function readGradients(
  layout: BackwardLayout,
  buffer: ArrayBufferLike,
): AttentionGradients {
  const t = layout.tensors, shape = layout.forward.shape;
  const d = shape.dModel, kvw = kvWidth(shape);
  const copy = (region: Region) => new Float32Array(buffer, region.offset, region.floats).slice();
  return splitQkvGradients(
    {
      x: copy(t.dx),
      wQkv: copy(t.dWCat),
      bQkv: copy(t.dbCat),
      wO: copy(t.dWo),
      bO: copy(t.dbO),
    },
    d,
    kvw,
  );
}

/**
 * The typed-array bytes a backward holds live: every region of the forward's plan (what the
 * forward kept for it, scores included) and of its own, plus the returned copies of the gradients.
 */
export function backwardMemory(layout: BackwardLayout): ForwardMemory {
  const byClass: Record<string, number> = bytesByClass(layout.forward);
  for (const region of backwardRegions(layout)) byClass[region.memoryClass]! += region.floats * 4;
  const { x, wQ, bQ, wK, bK, wV, bV, wO, bO } = layout.forward.tensors;
  // the gradients handed back to the caller, one per tensor
  byClass.gradients = [x, wQ, bQ, wK, bK, wV, bV, wO, bO].reduce((sum, r) => sum + r.floats * 4, 0);
  const peakBytes = Object.values(byClass).reduce((sum, bytes) => sum + bytes, 0);
  return { peakBytes, peakBytesByClass: byClass };
}
