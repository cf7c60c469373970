/**
 * The work of the CPU backward's workers, on the memory a forward left (x, weights, q, k, v,
 * concat; `backward_layout.ts`). Phases, each a queue of units the workers share, with a barrier
 * between phases (`phase_barrier.ts`):
 *
 * 1. `prepare`: pack wOᵀ and dOut; build wCat = [wQ|wK|wV] and pack wCatᵀ; xᵀ and concatᵀ by row
 *    block; db_o = Σ_rows dOut by column block.
 * 2. `output`: dConcat = dOut·wOᵀ by row block; dW_o = concatᵀ·dOut by row block of dW_o.
 * 3. per sequence b and kv head g, `rows`: units (query head h of g, strip of {@link BLOCK_ROWS}
 *    query rows): P = softmax(q_h·k_gᵀ/√d_k), masked, recomputed (the forward keeps no P);
 *    dP = dO_h·v_gᵀ; dS = P ⊙ (dP − rowsum(dO_h ⊙ O_h)); dQ_h = dS·k_g/√d_k. P and dS rows are
 *    kept in the group's [G·n, n] buffers.
 * 4. per b and g, `keys`: units (block of keys): dV_gᵀ = Σ_h dO_hᵀ·P_h[:, block] and
 *    dK_gᵀ = Σ_h q_hᵀ·dS_h[:, block]/√d_k over the G query heads of g (the matmul accumulates);
 *    stored transposed into dQkv.
 * 5. `gather`: pack dQkv; [db_q|db_k|db_v] = Σ_rows dQkv by column block.
 * 6. `weights`: dx = dQkv·wCatᵀ by row block; [dW_q|dW_k|dW_v] = xᵀ·dQkv by row block.
 *
 * Causal and sliding masks skip the masked work as the forward does: a strip computes only the
 * keys its rows see (from the packed keys' panel of the first), and a key block only the rows
 * that see it; keys a row does not see get P = dS = 0 exactly. dS holds 1/√d_k, so dQ and dK are
 * plain sums (the keys phase accumulates them head by head).
 *
 * Every element is computed by the same arithmetic whatever worker takes its unit, so gradients
 * are byte-identical for any worker count.
 *
 * @module
 */

import { headWidth, keyRange, kvWidth, type ResolvedShape, resolveShape } from "../shape.ts";
import type { AttentionKernels } from "./attention_kernels.ts";
import { BackwardControl, type BackwardLayout, type BackwardScratch } from "./backward_layout.ts";
import type { BackwardSimdExports } from "./backward_simd.ts";

import { NR } from "./matmul.ts";
import { BLOCK_ROWS, type Region } from "./memory_layout.ts";
import { barrier, runPhase, type Task } from "./phase_barrier.ts";

/** Every kernel the backward calls. */
export type BackwardKernels = AttentionKernels & BackwardSimdExports;

/** Byte address of element `index` of a region. */
function address(region: Region, index = 0): number {
  return region.offset + index * 4;
}

/** A task of one unit per block of `size` over `length` (rows, columns or keys). */
function blocks(length: number, size: number, run: (start: number, count: number) => void): Task {
  return {
    units: Math.ceil(length / size),
    run: (unit) => run(unit * size, Math.min(size, length - unit * size)),
  };
}

/** One worker's view of the shared memory: runs the backward units it takes. */
export class BackwardWorker {
  readonly #k: BackwardKernels;
  readonly #layout: BackwardLayout;
  readonly #shape: ResolvedShape;
  readonly #buffer: SharedArrayBuffer | ArrayBuffer;
  readonly #control: Int32Array;
  readonly #scratch: BackwardScratch;
  /** (sequence, kv head) whose k and v, and whose stacked qᵀ and dOᵀ, the scratch holds; −1 none */
  #packedGroup = -1;
  #stackedGroup = -1;

  constructor(
    kernels: BackwardKernels,
    memory: WebAssembly.Memory,
    layout: BackwardLayout,
    worker: number,
  ) {
    const scratch = layout.scratch[worker];
    if (!scratch) {
      throw new RangeError(
        `worker ${worker} has no scratch in a ${layout.scratch.length}-worker plan`,
      );
    }
    this.#k = kernels;
    this.#layout = layout;
    this.#shape = resolveShape(layout.forward.shape);
    this.#buffer = memory.buffer;
    const control = layout.tensors.control;
    this.#control = new Int32Array(memory.buffer, control.offset, control.floats);
    this.#scratch = scratch;
  }

  /** One backward: every phase's units this worker gets, with a barrier between phases. */
  backward(): void {
    this.#packedGroup = this.#stackedGroup = -1; // q, k, v may have changed since the last one
    const phases = this.#phases();
    phases.forEach((tasks, index) => {
      runPhase(this.#control, BackwardControl.NextUnit + index, tasks);
      if (index < phases.length - 1) {
        barrier(this.#control, BackwardControl.Arrivals, this.#layout.scratch.length, index);
      }
    });
  }

  #phases(): Task[][] {
    const { batch, kvHeads, heads, seqLen: n } = this.#shape;
    const groupSize = heads / kvHeads;
    const perGroup: Task[][] = [];
    for (let b = 0; b < batch; b++) {
      for (let g = 0; g < kvHeads; g++) {
        perGroup.push(
          [blocks(groupSize * n, BLOCK_ROWS, (start, rows) => this.#rows(b, g, start, rows))],
          [blocks(n, BLOCK_ROWS, (start, keys) => this.#keys(b, g, start, keys))],
        );
      }
    }
    return [this.#prepare(), this.#output(), ...perGroup, this.#gather(), this.#weights()];
  }

  #prepare(): Task[] {
    const t = this.#layout.tensors, f = this.#layout.forward.tensors;
    const { dModel: d, batch, seqLen } = this.#shape;
    const rows = batch * seqLen;
    return [
      { units: 1, run: () => this.#k.packB(address(f.wO), d, 1, d, d, address(t.packedWoT)) },
      { units: 1, run: () => this.#packWCatT() },
      this.#packColumnBlocks(t.dOut, d, t.packedDOut),
      blocks(rows, BLOCK_ROWS, (start, count) => this.#transposeRows(f.x, start, count, t.xT)),
      blocks(rows, BLOCK_ROWS, (start, count) => {
        this.#transposeRows(f.concat, start, count, t.concatT);
      }),
      blocks(d, BLOCK_ROWS, (start, count) => this.#columnSums(t.dOut, d, start, count, t.dbO)),
    ];
  }

  #output(): Task[] {
    const t = this.#layout.tensors;
    const { dModel: d, batch, seqLen } = this.#shape;
    const rows = batch * seqLen;
    return [
      blocks(rows, BLOCK_ROWS, (start, count) => {
        this.#gemm(count, d, d, [t.dOut, start * d, d], t.packedWoT, [t.dConcat, start * d, d]);
      }),
      blocks(d, BLOCK_ROWS, (start, count) => {
        this.#gemm(count, d, rows, [t.concatT, start * rows, rows], t.packedDOut, [
          t.dWo,
          start * d,
          d,
        ]);
      }),
    ];
  }

  #gather(): Task[] {
    const t = this.#layout.tensors;
    const w3 = this.#shape.dModel + 2 * kvWidth(this.#shape);
    return [
      this.#packColumnBlocks(t.dQkv, w3, t.packedDQkv),
      blocks(w3, BLOCK_ROWS, (start, count) => this.#columnSums(t.dQkv, w3, start, count, t.dbCat)),
    ];
  }

  #weights(): Task[] {
    const t = this.#layout.tensors;
    const { dModel: d, batch, seqLen } = this.#shape;
    const rows = batch * seqLen, w3 = d + 2 * kvWidth(this.#shape);
    return [
      blocks(rows, BLOCK_ROWS, (start, count) => {
        this.#gemm(count, d, w3, [t.dQkv, start * w3, w3], t.packedWCatT, [t.dx, start * d, d]);
      }),
      blocks(d, BLOCK_ROWS, (start, count) => {
        this.#gemm(count, w3, rows, [t.xT, start * rows, rows], t.packedDQkv, [
          t.dWCat,
          start * w3,
          w3,
        ]);
      }),
    ];
  }

  /**
   * C = scale·(C₀ + A·B) with A and C given as (region, first element, leading dimension); B packed,
   * `bOffset` f32 into its region (a range of its rows or columns, packB's layout), `bRows` its
   * panel height (default: `depth`, what it was packed with); C₀ = C when `accumulate`, else 0.
   */
  #gemm(
    m: number,
    n: number,
    depth: number,
    [a, aIndex, lda]: readonly [Region, number, number],
    packedB: Region,
    [c, cIndex, ldc]: readonly [Region, number, number],
    options: { scale?: number; bOffset?: number; bRows?: number; accumulate?: boolean } = {},
  ): void {
    this.#k.gemm(
      m,
      n,
      depth,
      address(a, aIndex),
      lda,
      address(packedB, options.bOffset ?? 0),
      options.bRows ?? depth,
      address(c, cIndex),
      ldc,
      0,
      options.scale ?? 1,
      options.accumulate ? 1 : 0,
      address(this.#scratch.tile),
    );
  }

  /**
   * Units packing a [rows, columns] matrix for gemm, one per block of {@link BLOCK_ROWS} columns
   * (a multiple of NR): packing a block of columns alone writes exactly what packing the whole
   * matrix writes there.
   */
  #packColumnBlocks(source: Region, columns: number, packed: Region): Task {
    const rows = this.#shape.batch * this.#shape.seqLen;
    return blocks(columns, BLOCK_ROWS, (start, count) => {
      this.#k.packB(
        address(source, start),
        columns,
        0,
        rows,
        count,
        address(packed, start * rows),
      );
    });
  }

  /** wCat = [wQ|wK|wV] row by row, then wCatᵀ packed (B of dx = dQkv·wCatᵀ). */
  #packWCatT(): void {
    const f = this.#layout.forward.tensors, t = this.#layout.tensors;
    const d = this.#shape.dModel, kvw = kvWidth(this.#shape), w3 = d + 2 * kvw;
    const wCat = this.#view(t.wCat);
    const parts: [Region, number, number][] = [[f.wQ, d, 0], [f.wK, kvw, d], [f.wV, kvw, d + kvw]];
    for (const [weight, width, column] of parts) {
      const source = this.#view(weight);
      for (let r = 0; r < d; r++) {
        wCat.set(source.subarray(r * width, (r + 1) * width), r * w3 + column);
      }
    }
    this.#k.packB(address(t.wCat), w3, 1, w3, d, address(t.packedWCatT));
  }

  /** Rows [start, start + count) of a [N, dModel] matrix into columns of its [dModel, N] transpose. */
  #transposeRows(source: Region, start: number, count: number, target: Region): void {
    const d = this.#shape.dModel, rows = this.#shape.batch * this.#shape.seqLen;
    this.#k.transpose(address(source, start * d), d, count, d, address(target, start), rows);
  }

  /** sums[j] = Σ_r matrix[r][j] for columns [start, start + count), in float64. */
  #columnSums(matrix: Region, columns: number, start: number, count: number, sums: Region): void {
    const rows = this.#shape.batch * this.#shape.seqLen;
    const values = this.#view(matrix), out = this.#view(sums);
    const total = new Float64Array(count);
    for (let r = 0; r < rows; r++) {
      const row = r * columns + start;
      for (let j = 0; j < count; j++) total[j]! += values[row + j]!;
    }
    out.set(total, start);
  }

  #view(region: Region): Float32Array {
    return new Float32Array(this.#buffer, region.offset, region.floats);
  }

  /** Pack k_gᵀ, v_gᵀ and k_g of sequence b unless the scratch holds them. */
  #packGroup(b: number, g: number): void {
    const group = b * this.#shape.kvHeads + g;
    if (this.#packedGroup === group) return;
    const { seqLen: n } = this.#shape, dK = headWidth(this.#shape), kvw = kvWidth(this.#shape);
    const f = this.#layout.forward.tensors, s = this.#scratch;
    const keys = address(f.k, b * n * kvw + g * dK), values = address(f.v, b * n * kvw + g * dK);
    this.#k.packB(keys, kvw, 1, dK, n, address(s.packedKT));
    this.#k.packB(values, kvw, 1, dK, n, address(s.packedVT));
    this.#k.packB(keys, kvw, 0, n, dK, address(s.packedK));
    this.#packedGroup = group;
  }

  /**
   * Rows [start, start + count) of the group's stacked rows (query head g·G + start / n): P, dS
   * and dQ of those rows, over the keys they see only ([lo8, hi): causal and sliding skip the
   * masked rest); dS holds 1/√d_k, so that dQ and dK are plain sums.
   */
  #rows(b: number, g: number, start: number, count: number): void {
    const { seqLen: n, dModel: d, heads, kvHeads } = this.#shape;
    const dK = headWidth(this.#shape), scale = 1 / Math.sqrt(dK);
    const w3 = d + 2 * kvWidth(this.#shape);
    // a block never straddles two heads when n is a multiple of BLOCK_ROWS; otherwise split it
    const localHead = Math.floor(start / n), headEnd = (localHead + 1) * n;
    if (start + count > headEnd) {
      this.#rows(b, g, start, headEnd - start);
      this.#rows(b, g, headEnd, start + count - headEnd);
      return;
    }
    this.#packGroup(b, g);
    const h = g * (heads / kvHeads) + localHead, i0 = start - localHead * n;
    const t = this.#layout.tensors, f = this.#layout.forward.tensors, s = this.#scratch;
    const headRow = (b * n + i0) * d + h * dK;
    // the strip's keys, from the packed keys' panel of its first one
    const lo = keyRange(this.#shape, i0)[0], hi = keyRange(this.#shape, i0 + count - 1)[1];
    const lo8 = lo - lo % NR, width = hi - lo8;
    const strip = (region: Region) => [region, start * n + lo8, n] as const;
    const keyColumns = { bOffset: lo8 * dK, scale };
    this.#gemm(count, width, dK, [f.q, headRow, d], s.packedKT, strip(t.probabilities), keyColumns);
    this.#maskedSoftmax(start, i0, count, [lo8, hi]);
    // 1/√d_k·dP, less 1/√d_k·D, times P: 1/√d_k·dS
    this.#gemm(count, width, dK, [t.dConcat, headRow, d], s.packedVT, strip(t.dScores), keyColumns);
    this.#rowDots(headRow, count, scale);
    this.#k.softmaxBackwardRows(
      address(t.probabilities, start * n + lo8),
      address(t.dScores, start * n + lo8),
      address(s.rowDots),
      count,
      width,
      n,
    );
    this.#zeroOutside(t.dScores, start, count, () => [lo8, hi]);
    const dQ = [t.dQkv, (b * n + i0) * w3 + h * dK, w3] as const;
    this.#gemm(count, dK, width, strip(t.dScores), s.packedK, dQ, {
      bOffset: lo8 * NR, // rows lo8… of the packed k
      bRows: n,
    });
  }

  /** rowDots[r] = scale·rowsum(dO ⊙ O) of `count` rows of one head from element `headRow`. */
  #rowDots(headRow: number, count: number, scale: number): void {
    const d = this.#shape.dModel, dK = headWidth(this.#shape);
    const dConcat = this.#view(this.#layout.tensors.dConcat);
    const concat = this.#view(this.#layout.forward.tensors.concat);
    const rowDots = this.#view(this.#scratch.rowDots);
    for (let r = 0; r < count; r++) {
      let dot = 0;
      for (let c = 0; c < dK; c++) {
        dot += dConcat[headRow + r * d + c]! * concat[headRow + r * d + c]!;
      }
      rowDots[r] = scale * dot;
    }
  }

  /**
   * Softmax of the strip's score rows over their computed keys [lo8, hi): keys a query does not
   * see get −∞ first and exactly 0 after (the softmax's exp clamps −∞ to 1.2e−38), and every key
   * outside [lo8, hi) 0, so the keys phase reads whole columns.
   */
  #maskedSoftmax(start: number, i0: number, count: number, [lo8, hi]: [number, number]): void {
    const n = this.#shape.seqLen, p = this.#view(this.#layout.tensors.probabilities);
    for (let r = 0; r < count; r++) {
      const [first, end] = keyRange(this.#shape, i0 + r), row = (start + r) * n;
      p.fill(-Infinity, row + lo8, row + first);
      p.fill(-Infinity, row + end, row + hi);
    }
    this.#k.softmaxRows(
      address(this.#layout.tensors.probabilities, start * n + lo8),
      count,
      hi - lo8,
      n,
    );
    this.#zeroOutside(
      this.#layout.tensors.probabilities,
      start,
      count,
      (r) => keyRange(this.#shape, i0 + r),
    );
  }

  /** Zero rows start… of a [·, n] buffer outside the key range `kept(r)` of each. */
  #zeroOutside(
    region: Region,
    start: number,
    count: number,
    kept: (r: number) => [number, number],
  ): void {
    const n = this.#shape.seqLen, view = this.#view(region);
    for (let r = 0; r < count; r++) {
      const [first, end] = kept(r), row = (start + r) * n;
      view.fill(0, row, row + first);
      view.fill(0, row + end, row + n);
    }
  }

  /** Stack qᵀ and dOᵀ of the group's query heads in sequence b unless the scratch holds them. */
  #stackGroup(b: number, g: number): void {
    const group = b * this.#shape.kvHeads + g;
    if (this.#stackedGroup === group) return;
    const { seqLen: n, dModel: d, heads, kvHeads } = this.#shape, dK = headWidth(this.#shape);
    const groupSize = heads / kvHeads, stacked = groupSize * n;
    const f = this.#layout.forward.tensors, t = this.#layout.tensors, s = this.#scratch;
    for (let local = 0; local < groupSize; local++) {
      const headRow = b * n * d + (g * groupSize + local) * dK;
      for (const [source, target] of [[f.q, s.groupQT], [t.dConcat, s.groupDOT]] as const) {
        this.#k.transpose(address(source, headRow), d, n, dK, address(target, local * n), stacked);
      }
    }
    this.#stackedGroup = group;
  }

  /**
   * dV and dK of keys [start, start + count) of kv head g in sequence b, over the rows of each of
   * its query heads that see those keys (causal and sliding skip the rest), summed by accumulating.
   */
  #keys(b: number, g: number, start: number, count: number): void {
    this.#stackGroup(b, g);
    const { seqLen: n, dModel: d, heads, kvHeads, mask, window } = this.#shape;
    const dK = headWidth(this.#shape), kvw = kvWidth(this.#shape), w3 = d + 2 * kvw;
    const groupSize = heads / kvHeads, stacked = groupSize * n;
    // queries i that see a key j of the block: full all; causal j ≤ i; sliding j ≤ i < j + W
    const first = mask === "full" ? 0 : start;
    const end = mask === "sliding" ? Math.min(n, start + count - 1 + window) : n;
    const t = this.#layout.tensors, s = this.#scratch;
    const parts: [Region, Region, number][] = [
      [t.probabilities, s.groupDOT, d + kvw],
      [t.dScores, s.groupQT, d], // dS holds 1/√d_k
    ];
    for (const [columnsOf, stackedT, column] of parts) {
      for (let local = 0; local < groupSize; local++) {
        const row = local * n + first;
        this.#k.packB(
          address(columnsOf, row * n + start),
          n,
          0,
          end - first,
          count,
          address(s.packedColumns),
        );
        this.#gemm(dK, count, end - first, [stackedT, row, stacked], s.packedColumns, [
          s.resultT,
          0,
          BLOCK_ROWS,
        ], { accumulate: local > 0 });
      }
      const target = address(t.dQkv, (b * n + start) * w3 + column + g * dK);
      this.#k.transpose(address(s.resultT), BLOCK_ROWS, dK, count, target, w3);
    }
  }
}
