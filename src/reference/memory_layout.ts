/**
 * Where every tensor of one CPU forward lives in the shared WebAssembly memory, and how many bytes
 * each memory class holds. The main thread and the workers compute offsets from the same plan.
 *
 * All regions are live for the whole forward (buffers are reused across forwards), so the peak of
 * live typed-array bytes is simply their sum: {@link bytesByClass}.
 *
 * @module
 */

import {
  type AttentionShape,
  headWidth,
  kvWidth,
  type ResolvedShape,
  resolveShape,
} from "../shape.ts";
import { NR, packedBFloats, TILE_FLOATS } from "./matmul.ts";

/** Memory classes of the CPU path: weights, activations, scores (README.md, "What is measured"). */
export type MemoryClass = "weights" | "activations" | "scores";

/** Rows of one unit of work: a projection row block or an attention strip. */
export const BLOCK_ROWS = 64;

/** Int32 slots of the control region, all zeroed before each forward. */
export const Control = {
  /** first of one slot per phase: the next unit of that phase, handed out by Atomics.add */
  NextUnit: 0,
  /** workers that finished a phase, counted over the forward: the barrier between phases */
  Arrivals: 3,
  /** first of one slot per weight matrix (wQ, wK, wV, wO): 1 once its packed copy is written */
  WeightPacked: 4,
  /** first of one slot per strip: the head whose scores that strip may hold next */
  StripHead: 8,
} as const;

/** One tensor or scratch buffer: `floats` f32 starting at byte `offset` of the shared memory. */
export interface Region {
  offset: number;
  floats: number;
  memoryClass: MemoryClass;
}

/** Scratch one worker owns: packed matmul operands and an edge tile. */
export interface WorkerScratch {
  /** softmax: one kv head's packed Kᵀ followed by its packed V; linear: the packed [V | 1] */
  packedB: Region;
  tile: Region;
  /** linear attention only */
  linear?: LinearScratch;
}

/**
 * What one linear-attention unit (one head of one sequence) keeps besides the packed [V | 1]:
 * O(n·d_k + d_k²), no n × n matrix. The ones column appended to V makes the normaliser z the last
 * column of S′ = φ(K)ᵀ·[V | 1], and the denominator the last column of φ(Q)·S′.
 */
export interface LinearScratch {
  /** φ(K)ᵀ, [dK, seqLen] */
  featureKeys: Region;
  /** S′ = [S | z], [dK, dK + 1] */
  state: Region;
  /** S′ packed as the right operand of φ(Q)·S′ */
  packedState: Region;
  /** one chunk of rows' numerators and denominators, [BLOCK_ROWS, dK + 1] */
  numerator: Region;
  /** causal: one chunk's φ(Q)·φ(K)ᵀ, [BLOCK_ROWS, BLOCK_ROWS], and its φ(K)ᵀ packed */
  chunkScores: Region;
  packedChunkKeys: Region;
}

/** The tensors of a forward (rows are batch·seqLen; k and v are kvHeads·dK wide). */
export interface TensorRegions {
  x: Region;
  wQ: Region;
  bQ: Region;
  wK: Region;
  bK: Region;
  wV: Region;
  bV: Region;
  wO: Region;
  bO: Region;
  q: Region;
  k: Region;
  v: Region;
  /** heads' outputs side by side: [batch·seqLen, dModel] */
  concat: Region;
  out: Region;
  /**
   * one head's scores, overwritten in place by its probabilities: seqLen × {@link scoreColumns}
   * (empty for linear attention)
   */
  scores: Region;
  /** wQ, wK, wV, wO packed for gemm (written in every forward, once, by whichever worker) */
  packedWeights: [Region, Region, Region, Region];
  /** Int32 scheduling slots ({@link Control}), not f32 */
  control: Region;
}

/** The memory plan of one shape and worker count. */
export interface AttentionLayout {
  shape: ResolvedShape;
  workerCount: number;
  tensors: TensorRegions;
  scratch: WorkerScratch[];
  /** bytes the memory must hold (end of the last region) */
  totalBytes: number;
  /** 64 KiB WebAssembly pages for `totalBytes` */
  pages: number;
}

/** Bytes of one WebAssembly page. */
export const WASM_PAGE_BYTES = 65536;
/** A 32-bit WebAssembly memory holds at most 4 GiB. */
export const MAX_WASM_PAGES = 65536;

/** Regions start on cache-line boundaries; offset 0 stays unused so address 0 can mean "none". */
const ALIGNMENT_BYTES = 64;

/** The shape is too large for one 4 GiB WebAssembly memory. */
export class LayoutTooLargeError extends RangeError {
  override name = "LayoutTooLargeError";
}

/**
 * Plan the memory of a forward: inputs and weights, the activations, one head's score matrix (or
 * band) and each worker's scratch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const layout = planLayout({ seqLen: 10, dModel: 8, heads: 2 }, 2);
 * assert(layout.tensors.scores.floats === 100);
 * ```
 */
export function planLayout(shape: AttentionShape, workerCount: number): AttentionLayout {
  const resolved = resolveShape(shape);
  const { seqLen: n, dModel: d, batch } = resolved;
  const kvW = kvWidth(resolved);
  let end = ALIGNMENT_BYTES;
  const region = (floats: number, memoryClass: MemoryClass): Region => {
    const placed = { offset: end, floats, memoryClass };
    end += Math.ceil((floats * 4) / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
    return placed;
  };
  const weight = (columns: number) => region(d * columns, "weights");
  const bias = (columns: number) => region(columns, "weights");
  const activation = (columns: number) => region(batch * n * columns, "activations");
  const packedWeight = (columns: number) => region(packedBFloats(d, columns), "weights");
  const softmax = resolved.attention === "softmax";
  // biases come before other tensors: gemm reads up to NR − 1 f32 past a bias's end (lanes it
  // never stores), which must stay inside the memory
  const tensors: TensorRegions = {
    wQ: weight(d),
    wK: weight(kvW),
    wV: weight(kvW),
    wO: weight(d),
    bQ: bias(d),
    bK: bias(kvW),
    bV: bias(kvW),
    bO: bias(d),
    x: activation(d),
    q: activation(d),
    k: activation(kvW),
    v: activation(kvW),
    concat: activation(d),
    out: activation(d),
    scores: region(softmax ? n * scoreColumns(resolved) : 0, "scores"),
    packedWeights: [packedWeight(d), packedWeight(kvW), packedWeight(kvW), packedWeight(d)],
    control: region(Control.StripHead + stripCount(n), "activations"),
  };
  const scratch = Array.from({ length: workerCount }, () => workerScratch(resolved, region));
  const pages = Math.ceil(end / WASM_PAGE_BYTES);
  if (pages > MAX_WASM_PAGES) {
    throw new LayoutTooLargeError(
      `seqLen ${n}, dModel ${d}: the CPU path needs ${(end / 2 ** 30).toFixed(2)} GiB in one ` +
        `WebAssembly memory, more than its 4 GiB limit`,
    );
  }
  return { shape: resolved, workerCount, tensors, scratch, totalBytes: end, pages };
}

/** One worker's scratch, placed by `region`. */
function workerScratch(
  shape: ResolvedShape,
  region: (floats: number, memoryClass: MemoryClass) => Region,
): WorkerScratch {
  const n = shape.seqLen, dK = headWidth(shape);
  const tile = () => region(TILE_FLOATS, "activations");
  if (shape.attention === "softmax") {
    return {
      packedB: region(packedKFloats(shape) + packedBFloats(n, dK), "activations"),
      tile: tile(),
    };
  }
  const causal = shape.mask === "causal";
  return {
    packedB: region(packedBFloats(n, dK + 1), "activations"),
    tile: tile(),
    linear: {
      featureKeys: region(dK * n, "activations"),
      state: region(dK * (dK + 1), "activations"),
      packedState: region(packedBFloats(dK, dK + 1), "activations"),
      numerator: region(BLOCK_ROWS * (dK + 1), "activations"),
      chunkScores: region(causal ? BLOCK_ROWS * BLOCK_ROWS : 0, "activations"),
      packedChunkKeys: region(causal ? packedBFloats(dK, BLOCK_ROWS) : 0, "activations"),
    },
  };
}

/**
 * Columns of one head's score rows: every key for `full` and `causal` (a causal strip fills the
 * columns up to its diagonal), the band for `sliding`: a strip of BLOCK_ROWS queries sees at most
 * W + BLOCK_ROWS − 1 keys, starting up to NR − 1 columns earlier so that the keys' packed panels
 * are used whole.
 */
export function scoreColumns(shape: ResolvedShape): number {
  if (shape.mask !== "sliding") return shape.seqLen;
  return Math.min(shape.seqLen, shape.window + BLOCK_ROWS + NR - 2);
}

/** Strips of {@link BLOCK_ROWS} rows covering seqLen rows. */
export function stripCount(seqLen: number): number {
  return Math.ceil(seqLen / BLOCK_ROWS);
}

/** f32 elements of one head's packed Kᵀ (dK × seqLen), the first part of a worker's packed B. */
export function packedKFloats(shape: AttentionShape): number {
  return packedBFloats(headWidth(shape), shape.seqLen);
}

/** Every region of a layout, tensors first. */
export function allRegions(layout: AttentionLayout): Region[] {
  return [
    ...Object.values(layout.tensors).flat(),
    ...layout.scratch.flatMap((s) => [s.packedB, s.tile, ...Object.values(s.linear ?? {})]),
  ];
}

/** Exact bytes of each class in the layout (f32 elements × 4, without alignment padding). */
export function bytesByClass(layout: AttentionLayout): Record<MemoryClass, number> {
  const bytes: Record<MemoryClass, number> = { weights: 0, activations: 0, scores: 0 };
  for (const region of allRegions(layout)) bytes[region.memoryClass] += region.floats * 4;
  return bytes;
}
