/**
 * One unit of softmax attention on the CPU path: a strip of BLOCK_ROWS queries of one head of one
 * sequence. Scores = q·kᵀ/√d_k over the keys the strip's queries may see, the row softmax of each
 * query's own keys, then P·V. Masked work is skipped, not only masked: a causal strip multiplies by
 * the keys up to its last query (about half the work of `full` over a sequence), a sliding strip by
 * the band of W + BLOCK_ROWS keys at most (O(n·W)), and that band is all its score rows store.
 *
 * Keys are read from the kv head's packed Kᵀ and V (packed once per kv head and sequence): a range
 * of packed panels or rows is itself a packed matrix (`matmul.ts`), so no key is packed twice.
 * Inside the strip, keys a query may not see get probability 0 before P·V.
 *
 * @module
 */

import { headWidth, keyRange, kvWidth, type ResolvedShape } from "../shape.ts";
import type { UnitContext } from "./attention_kernels.ts";
import { NR } from "./matmul.ts";
import { BLOCK_ROWS, packedKFloats, type Region, scoreColumns } from "./memory_layout.ts";

/** Byte address of element `index` of a region. */
function address(region: Region, index = 0): number {
  return region.offset + index * 4;
}

/**
 * The keys [first, end) that the queries start … start + rows − 1 see together; `first` rounded
 * down to a whole packed panel of NR keys (the extra keys get probability 0).
 */
export function stripKeys(shape: ResolvedShape, start: number, rows: number): [number, number] {
  const [first] = keyRange(shape, start);
  const [, end] = keyRange(shape, start + rows - 1);
  return [first - (first % NR), end];
}

/** Pack kv head `kvHead` of sequence `sequence`: Kᵀ (dK × n) then V (n × dK), into the scratch. */
export function packKeysAndValues(context: UnitContext, sequence: number, kvHead: number): void {
  const { kernels, layout, scratch } = context;
  const { seqLen: n } = layout.shape;
  const dK = headWidth(layout.shape), kvW = kvWidth(layout.shape);
  const first = sequence * n * kvW + kvHead * dK;
  const packedKeys = address(scratch.packedB);
  // B of the scores is k_gᵀ: element [c][j] = k[j][kvHead·dK + c]
  kernels.packB(address(layout.tensors.k, first), kvW, 1, dK, n, packedKeys);
  kernels.packB(
    address(layout.tensors.v, first),
    kvW,
    0,
    n,
    dK,
    packedKeys + packedKFloats(layout.shape) * 4,
  );
}

/** One strip of queries of head `head` of sequence `sequence`, its kv head already packed. */
export function attendStrip(
  context: UnitContext,
  sequence: number,
  head: number,
  strip: number,
): void {
  const { kernels, layout, scratch } = context;
  const { shape, tensors: t } = layout;
  const { seqLen: n, dModel: d } = shape;
  const dK = headWidth(shape);
  const start = strip * BLOCK_ROWS, rows = Math.min(BLOCK_ROWS, n - start);
  const [keyStart, keyEnd] = stripKeys(shape, start, rows);
  const keys = keyEnd - keyStart, columns = scoreColumns(shape);
  const scores = address(t.scores, start * columns);
  const firstElement = (sequence * n + start) * d + head * dK;
  const packedKeys = address(scratch.packedB);
  const packedValues = packedKeys + packedKFloats(shape) * 4;
  const tile = context.tile;
  kernels.gemm(
    rows,
    keys,
    dK,
    address(t.q, firstElement),
    d,
    packedKeys + keyStart * dK * 4, // panels of Kᵀ from key keyStart (a multiple of NR) on
    dK,
    scores,
    columns,
    0,
    1 / Math.sqrt(dK),
    0,
    tile,
  );
  if (shape.mask === "full") kernels.softmaxRows(scores, rows, n, columns);
  else maskedSoftmax(context, { scores, start, rows, keyStart, keys, columns });
  kernels.gemm(
    rows,
    dK,
    keys,
    scores,
    columns,
    packedValues + keyStart * NR * 4, // rows of V from key keyStart on
    n,
    address(t.concat, firstElement),
    d,
    0,
    1,
    0,
    tile,
  );
}

/** The score rows of one strip: where they are and which keys their columns stand for. */
interface StripScores {
  /** byte address of the strip's first score row */
  scores: number;
  /** first query of the strip */
  start: number;
  rows: number;
  /** the key of column 0 */
  keyStart: number;
  /** columns computed per row */
  keys: number;
  /** row stride in f32 */
  columns: number;
}

/** Softmax of each row over its query's keys; the other computed columns become 0. */
function maskedSoftmax(context: UnitContext, strip: StripScores): void {
  const { scores, start, rows, keyStart, keys, columns } = strip;
  for (let r = 0; r < rows; r++) {
    const [first, end] = keyRange(context.layout.shape, start + r);
    const row = scores + r * columns * 4;
    context.kernels.softmaxRows(row + (first - keyStart) * 4, 1, end - first, columns);
    const rowFloat = row / 4;
    context.floats.fill(0, rowFloat, rowFloat + first - keyStart);
    context.floats.fill(0, rowFloat + end - keyStart, rowFloat + keys);
  }
}
