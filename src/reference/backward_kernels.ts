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
 * 4. per b and g, `keys`: units (block of keys): dV_gᵀ = dO_groupᵀ·P_group[:, block] and
 *    dK_gᵀ = q_groupᵀ·dS_group[:, block]/√d_k, one matmul each whose depth runs over the G query
 *    heads' rows stacked, so the sum over the heads sharing g is the matmul's own sum; stored
 *    transposed into dQkv.
 * 5. `gather`: pack dQkv; [db_q|db_k|db_v] = Σ_rows dQkv by column block.
 * 6. `weights`: dx = dQkv·wCatᵀ by row block; [dW_q|dW_k|dW_v] = xᵀ·dQkv by row block.
 *
 * Every element is computed by the same arithmetic whatever worker takes its unit, so gradients
 * are byte-identical for any worker count. Masked scores are computed and then hidden (−∞ before
 * the softmax, 0 after): the CPU backward does not skip the masked half.
 *
 * @module
 */

import { headWidth, keyRange, kvWidth, type ResolvedShape, resolveShape } from "../shape.ts";
import type { AttentionKernels } from "./attention_kernels.ts";
import { BackwardControl, type BackwardLayout, type BackwardScratch } from "./backward_layout.ts";
import type { BackwardSimdExports } from "./backward_simd.ts";

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

  /** C = scale·A·B with A and C given as (region, first element, leading dimension). */
  #gemm(
    m: number,
    n: number,
    depth: number,
    [a, aIndex, lda]: [Region, number, number],
    packedB: Region,
    [c, cIndex, ldc]: [Region, number, number],
    scale = 1,
  ): void {
    this.#k.gemm(
      m,
      n,
      depth,
      address(a, aIndex),
      lda,
      address(packedB),
      depth, // every B here is packed with exactly the depth it is used with
      address(c, cIndex),
      ldc,
      0,
      scale,
      0,
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
   * and dQ of those rows.
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
    this.#gemm(count, n, dK, [f.q, headRow, d], s.packedKT, [t.probabilities, start * n, n], scale);
    this.#maskedSoftmax(start * n, i0, count);
    this.#gemm(count, n, dK, [t.dConcat, headRow, d], s.packedVT, [t.dScores, start * n, n]);
    const dConcat = this.#view(t.dConcat), concat = this.#view(f.concat);
    const rowDots = this.#view(s.rowDots);
    for (let r = 0; r < count; r++) {
      let dot = 0;
      for (let c = 0; c < dK; c++) {
        dot += dConcat[headRow + r * d + c]! * concat[headRow + r * d + c]!;
      }
      rowDots[r] = dot;
    }
    this.#k.softmaxBackwardRows(
      address(t.probabilities, start * n),
      address(t.dScores, start * n),
      address(s.rowDots),
      count,
      n,
      n,
    );
    const dQ: [Region, number, number] = [t.dQkv, (b * n + i0) * w3 + h * dK, w3];
    this.#gemm(count, dK, n, [t.dScores, start * n, n], s.packedK, dQ, scale);
  }

  /** Softmax of `count` score rows at element `first` of P, queries i0…: masked keys get P = 0. */
  #maskedSoftmax(first: number, i0: number, count: number): void {
    const n = this.#shape.seqLen, p = this.#view(this.#layout.tensors.probabilities);
    const masked = this.#shape.mask !== "full";
    const hide = (value: number) => {
      for (let r = 0; r < count; r++) {
        const [keyFirst, keyEnd] = keyRange(this.#shape, i0 + r);
        p.fill(value, first + r * n, first + r * n + keyFirst);
        p.fill(value, first + r * n + keyEnd, first + (r + 1) * n);
      }
    };
    if (masked) hide(-Infinity);
    this.#k.softmaxRows(address(this.#layout.tensors.probabilities, first), count, n, n);
    // the softmax weighs a −∞ score 1.2e−38, not 0 (its exp clamps): make it exactly 0
    if (masked) hide(0);
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

  /** dV and dK of keys [start, start + count) of kv head g in sequence b. */
  #keys(b: number, g: number, start: number, count: number): void {
    this.#stackGroup(b, g);
    const { seqLen: n, dModel: d, heads, kvHeads } = this.#shape;
    const dK = headWidth(this.#shape), kvw = kvWidth(this.#shape), w3 = d + 2 * kvw;
    const stacked = (heads / kvHeads) * n;
    const t = this.#layout.tensors, s = this.#scratch;
    const parts: [Region, Region, number, number][] = [
      [t.probabilities, s.groupDOT, d + kvw, 1],
      [t.dScores, s.groupQT, d, 1 / Math.sqrt(dK)],
    ];
    for (const [columnsOf, stackedT, column, scale] of parts) {
      this.#k.packB(address(columnsOf, start), n, 0, stacked, count, address(s.packedColumns));
      this.#gemm(dK, count, stacked, [stackedT, 0, stacked], s.packedColumns, [
        s.resultT,
        0,
        BLOCK_ROWS,
      ], scale);
      const target = address(t.dQkv, (b * n + start) * w3 + column + g * dK);
      this.#k.transpose(address(s.resultT), BLOCK_ROWS, dK, count, target, w3);
    }
  }
}
