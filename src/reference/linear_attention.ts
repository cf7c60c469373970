/**
 * One unit of linear attention on the CPU path (Katharopoulos et al., 2020): one head of one
 * sequence. With φ(x) = elu(x) + 1, out_i = φ(q_i)ᵀ·S / (φ(q_i)ᵀ·z), S = Σ_j φ(k_j)·v_jᵀ and
 * z = Σ_j φ(k_j) over all keys (`full`) or the keys j ≤ i (`causal`); no 1/√d_k scale.
 *
 * V gets a column of ones, so S′ = φ(K)ᵀ·[V | 1] = [S | z] is one matrix product and the
 * denominators are the last column of φ(Q)·S′. Full: S′ over every key, then φ(Q)·S′ chunk by
 * chunk. Causal, in chunks of BLOCK_ROWS queries (the chunked prefix sum): a chunk reads the S′ of
 * the keys before it, adds its own keys through the masked φ(Q_c)·φ(K_c)ᵀ·[V_c | 1], then adds
 * φ(K_c)ᵀ·[V_c | 1] to S′. Work O(n·d_k²) per head (the chunk's own term O(n·BLOCK_ROWS·d_k)),
 * memory O(n·d_k + d_k²): no n × n matrix.
 *
 * @module
 */

import { headWidth, kvHeadOf, kvWidth } from "../shape.ts";
import type { UnitContext } from "./attention_kernels.ts";
import { NR } from "./matmul.ts";
import { BLOCK_ROWS, type LinearScratch, type Region } from "./memory_layout.ts";

/** Byte address of element `index` of a region. */
function address(region: Region, index = 0): number {
  return region.offset + index * 4;
}

/** Linear attention of head `head` of sequence `sequence`, into its columns of concat. */
export function linearHead(context: UnitContext, sequence: number, head: number): void {
  const { kernels, layout, scratch } = context;
  const { shape, tensors: t } = layout;
  const { seqLen: n, dModel: d } = shape;
  const dK = headWidth(shape), kvW = kvWidth(shape);
  const linear = scratch.linear!;
  const kvFirst = sequence * n * kvW + kvHeadOf(shape, head) * dK;
  const qFirst = sequence * n * d + head * dK;
  kernels.featureMap(address(t.k, kvFirst), n, dK, kvW, address(linear.featureKeys), n, 1);
  packValuesWithOnes(context, kvFirst);
  // φ(q) in place: these q columns belong to this unit alone (q is projected again each forward)
  kernels.featureMap(address(t.q, qFirst), n, dK, d, address(t.q, qFirst), d, 0);
  const causal = shape.mask === "causal";
  if (causal) {
    // S′ of no keys yet
    context.floats.fill(0, linear.state.offset / 4, linear.state.offset / 4 + linear.state.floats);
  } else {
    addToState(context, 0, n, 0);
    packState(context);
  }
  for (let start = 0; start < n; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, n - start);
    if (causal) packState(context);
    kernels.gemm(
      rows,
      dK + 1,
      dK,
      address(t.q, qFirst + start * d),
      d,
      address(linear.packedState),
      dK,
      address(linear.numerator),
      dK + 1,
      0,
      1,
      0,
      context.tile,
    );
    if (causal) {
      addChunkKeys(context, qFirst + start * d, start, rows);
      addToState(context, start, rows, 1);
    }
    normalise(context, linear, rows, qFirst + start * d);
  }
}

/** The kv head's V packed with a column of ones after its dK columns: [V | 1], n × (dK + 1). */
function packValuesWithOnes(context: UnitContext, kvFirst: number): void {
  const { kernels, layout, scratch, floats } = context;
  const n = layout.shape.seqLen, dK = headWidth(layout.shape);
  const packed = address(scratch.packedB);
  kernels.packB(address(layout.tensors.v, kvFirst), kvWidth(layout.shape), 0, n, dK, packed);
  // column dK: lane dK mod NR of the panel at column dK − dK mod NR (a new panel when lane is 0)
  const lane = dK % NR, panel = packed / 4 + (dK - lane) * n;
  if (lane === 0) floats.fill(0, panel, panel + n * NR);
  for (let row = 0; row < n; row++) floats[panel + row * NR + lane] = 1;
}

/** S′ (+)= φ(K)ᵀ·[V | 1] over keys start … start + keys − 1 (`accumulate` 1 adds to S′). */
function addToState(context: UnitContext, start: number, keys: number, accumulate: number): void {
  const { kernels, layout, scratch } = context;
  const { seqLen: n } = layout.shape;
  const dK = headWidth(layout.shape), linear = scratch.linear!;
  kernels.gemm(
    dK,
    dK + 1,
    keys,
    address(linear.featureKeys, start),
    n,
    address(scratch.packedB) + start * NR * 4, // rows of [V | 1] from key `start` on
    n,
    address(linear.state),
    dK + 1,
    0,
    1,
    accumulate,
    context.tile,
  );
}

/** Pack S′ as the right operand of φ(Q)·S′. */
function packState(context: UnitContext): void {
  const linear = context.scratch.linear!, dK = headWidth(context.layout.shape);
  context.kernels.packB(address(linear.state), dK + 1, 0, dK, dK + 1, address(linear.packedState));
}

/**
 * Causal: add the chunk's own keys to its numerators: (φ(Q_c)·φ(K_c)ᵀ with the keys after each
 * query set to 0)·[V_c | 1].
 */
function addChunkKeys(context: UnitContext, qFirst: number, start: number, rows: number): void {
  const { kernels, layout, scratch, floats, tile } = context;
  const { seqLen: n, dModel: d } = layout.shape;
  const dK = headWidth(layout.shape), linear = scratch.linear!;
  const packedKeys = address(linear.packedChunkKeys), chunkScores = address(linear.chunkScores);
  kernels.packB(address(linear.featureKeys, start), n, 0, dK, rows, packedKeys);
  kernels.gemm(
    rows,
    rows,
    dK,
    address(layout.tensors.q, qFirst),
    d,
    packedKeys,
    dK,
    chunkScores,
    BLOCK_ROWS,
    0,
    1,
    0,
    tile,
  );
  for (let r = 0; r < rows - 1; r++) {
    const row = chunkScores / 4 + r * BLOCK_ROWS;
    floats.fill(0, row + r + 1, row + rows);
  }
  kernels.gemm(
    rows,
    dK + 1,
    rows,
    chunkScores,
    BLOCK_ROWS,
    address(scratch.packedB) + start * NR * 4,
    n,
    address(linear.numerator),
    dK + 1,
    0,
    1,
    1,
    tile,
  );
}

/** concat row = numerator / denominator (the numerator's last column), for `rows` rows. */
function normalise(context: UnitContext, linear: LinearScratch, rows: number, first: number): void {
  const { floats, layout } = context;
  const d = layout.shape.dModel, dK = headWidth(layout.shape);
  const numerator = linear.numerator.offset / 4;
  const concat = layout.tensors.concat.offset / 4 + first;
  for (let r = 0; r < rows; r++) {
    const row = numerator + r * (dK + 1);
    const denominator = floats[row + dK]!;
    for (let c = 0; c < dK; c++) floats[concat + r * d + c] = floats[row + c]! / denominator;
  }
}
