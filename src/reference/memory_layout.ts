/**
 * Where every tensor of one CPU forward lives in the shared WebAssembly memory, and how many bytes
 * each memory class holds. The main thread and the workers compute offsets from the same plan.
 *
 * All regions are live for the whole forward (buffers are reused across forwards), so the peak of
 * live typed-array bytes is simply their sum: {@link bytesByClass}.
 *
 * @module
 */

import { type AttentionShape, headWidth } from "../shape.ts";
import { packedBFloats, TILE_FLOATS } from "./matmul.ts";

/** Memory classes of the CPU path (DESIGN.md: weights, activations, scores). */
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
  /** one head's packed Kᵀ followed by its packed V */
  packedB: Region;
  tile: Region;
}

/** The tensors of a forward. */
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
  /** heads' outputs side by side: [seqLen, dModel] */
  concat: Region;
  out: Region;
  /** one head's seqLen × seqLen scores, overwritten in place by its probabilities */
  scores: Region;
  /** wQ, wK, wV, wO packed for gemm (written in every forward, once, by whichever worker) */
  packedWeights: [Region, Region, Region, Region];
  /** Int32 scheduling slots ({@link Control}), not f32 */
  control: Region;
}

/** The memory plan of one shape and worker count. */
export interface AttentionLayout {
  shape: AttentionShape;
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
 * Plan the memory of a forward: inputs and weights, the activations, one head's score matrix
 * and each worker's packing scratch.
 *
 * @example
 * ```ts
 * const layout = planLayout({ seqLen: 10, dModel: 8, heads: 2 }, 2);
 * console.assert(layout.tensors.scores.floats === 100);
 * ```
 */
export function planLayout(shape: AttentionShape, workerCount: number): AttentionLayout {
  const { seqLen: n, dModel: d } = shape;
  const dK = headWidth(shape);
  let end = ALIGNMENT_BYTES;
  const region = (floats: number, memoryClass: MemoryClass): Region => {
    const placed = { offset: end, floats, memoryClass };
    end += Math.ceil((floats * 4) / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
    return placed;
  };
  const weight = () => region(d * d, "weights");
  const bias = () => region(d, "weights");
  const activation = () => region(n * d, "activations");
  const packedWeight = () => region(packedBFloats(d, d), "weights");
  // biases come before other tensors: gemm reads up to NR − 1 f32 past a bias's end (lanes it
  // never stores), which must stay inside the memory
  const tensors: TensorRegions = {
    wQ: weight(),
    wK: weight(),
    wV: weight(),
    wO: weight(),
    bQ: bias(),
    bK: bias(),
    bV: bias(),
    bO: bias(),
    x: activation(),
    q: activation(),
    k: activation(),
    v: activation(),
    concat: activation(),
    out: activation(),
    scores: region(n * n, "scores"),
    packedWeights: [packedWeight(), packedWeight(), packedWeight(), packedWeight()],
    control: region(Control.StripHead + stripCount(n), "activations"),
  };
  const scratch = Array.from({ length: workerCount }, () => ({
    packedB: region(packedKFloats(shape) + packedBFloats(n, dK), "activations"),
    tile: region(TILE_FLOATS, "activations"),
  }));
  const pages = Math.ceil(end / WASM_PAGE_BYTES);
  if (pages > MAX_WASM_PAGES) {
    throw new LayoutTooLargeError(
      `seqLen ${n}, dModel ${d}: the CPU path needs ${(end / 2 ** 30).toFixed(2)} GiB in one ` +
        `WebAssembly memory, more than its 4 GiB limit`,
    );
  }
  return { shape, workerCount, tensors, scratch, totalBytes: end, pages };
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
    ...layout.scratch.flatMap((s) => [s.packedB, s.tile]),
  ];
}

/** Exact bytes of each class in the layout (f32 elements × 4, without alignment padding). */
export function bytesByClass(layout: AttentionLayout): Record<MemoryClass, number> {
  const bytes: Record<MemoryClass, number> = { weights: 0, activations: 0, scores: 0 };
  for (const region of allRegions(layout)) bytes[region.memoryClass] += region.floats * 4;
  return bytes;
}
