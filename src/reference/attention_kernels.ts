/**
 * The work of the CPU path's workers: three phases, each a queue of units that workers take in
 * order from a shared counter (Atomics.add), so a worker slowed by another process simply takes
 * fewer units.
 *
 * 1. `project`: units (projection p ∈ q, k, v; block of {@link BLOCK_ROWS} rows), p-major:
 *    p = x @ w_p + b_p for the block.
 * 2. `attend`: units (head h, strip s of BLOCK_ROWS query rows), head-major: scores of the strip =
 *    q_h @ k_hᵀ / √dK written to the head's seqLen × seqLen matrix in shared memory, softmax of
 *    those rows in place, then o_h = p @ v_h into the concatenated heads. The matrix is
 *    materialised as in PyTorch's standard attention (every score is stored, then read back);
 *    working a strip at a time only keeps the strip's rows in cache between the three steps. The
 *    strip's rows are reused by every head, so unit (h, s) waits until unit (h − 1, s) is done.
 * 3. `output`: units (block of rows): out = concat @ wO + bO.
 *
 * A worker packs the weight or the head's k and v it needs into its own scratch when the unit it
 * takes needs a different one (units are ordered so that is about once per phase and head).
 * Rows are independent and every element is computed by the same arithmetic whatever unit or
 * worker computes it, so the output is byte-identical for any worker count.
 *
 * @module
 */

import { headWidth } from "../shape.ts";
import { addMatmulKernels, type MatmulExports, packedBFloats, TILE_FLOATS } from "./matmul.ts";
import {
  type AttentionLayout,
  BLOCK_ROWS,
  Control,
  MAX_WASM_PAGES,
  packedKFloats,
  type Region,
  stripCount,
} from "./memory_layout.ts";
import { addSoftmaxKernel, type SoftmaxExports } from "./softmax.ts";
import { ModuleBuilder } from "./wasm_emitter.ts";

/** Every kernel of the CPU path, as one instance exports them. */
export type AttentionKernels = MatmulExports & SoftmaxExports;

/** The phases of a forward, in order; each starts when every worker finished the previous one. */
export type Phase = "project" | "attend" | "output";

/** The kernels' WebAssembly module, importing `env.memory` (shared, up to 4 GiB). */
export function compileKernelModule(): WebAssembly.Module {
  const module = new ModuleBuilder();
  addMatmulKernels(module);
  addSoftmaxKernel(module);
  return new WebAssembly.Module(module.encode(MAX_WASM_PAGES));
}

/** Instantiate the kernels on a shared memory. */
export function instantiateKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): AttentionKernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as AttentionKernels;
}

/**
 * Run every kernel on a small scratch problem until V8 has had reason to optimise it. V8 first
 * runs WebAssembly through its baseline compiler and tiers hot functions up in the background;
 * warming up when a worker starts keeps that out of the first forwards. Takes a few ms.
 */
export function warmUpKernels(module: WebAssembly.Module): void {
  const size = 64;
  const floats = 4 * size * size + packedBFloats(size, size) + TILE_FLOATS;
  const pages = Math.ceil((floats * 4 + 256) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const kernels = instantiateKernels(module, memory);
  const view = new Float32Array(memory.buffer);
  for (let i = 0; i < view.length; i++) view[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const f32 = 4, a = 64, b = a + size * size * f32, c = b + size * size * f32;
  const packed = c + size * size * f32, tile = packed + packedBFloats(size, size) * f32;
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    kernels.packB(b, size, round % 2, size, size, packed);
    kernels.gemm(size, size, size, a, size, packed, c, size, b, 0.125, tile);
    kernels.gemm(size - 3, size - 5, size - 1, a, size, packed, c, size, 0, 1, tile);
    kernels.softmaxRows(c, size, size - 1, size);
  }
}

/** Rounds of {@link warmUpKernels}: enough calls and loop iterations to trigger tier-up. */
const WARM_UP_ROUNDS = 200;

/** Units of work in a phase. */
export function unitCount(layout: AttentionLayout, phase: Phase): number {
  const blocks = stripCount(layout.shape.seqLen);
  if (phase === "project") return 3 * blocks;
  if (phase === "attend") return layout.shape.heads * blocks;
  return blocks;
}

/**
 * Reset the control region for a phase; the main thread calls it before posting the phase, so
 * the post orders these stores before any worker reads them.
 */
export function resetControl(control: Int32Array, layout: AttentionLayout, phase: Phase): void {
  Atomics.store(control, Control.NextUnit, 0);
  if (phase === "attend") {
    for (let s = 0; s < stripCount(layout.shape.seqLen); s++) {
      Atomics.store(control, Control.StripHead + s, 0);
    }
  }
}

/** Byte address of element `index` of a region. */
function address(region: Region, index = 0): number {
  return region.offset + index * 4;
}

/** One worker's view of the shared memory: runs the units it takes. */
export class AttentionWorker {
  readonly #kernels: AttentionKernels;
  readonly #layout: AttentionLayout;
  readonly #control: Int32Array;
  readonly #packedB: number;
  readonly #tile: number;

  constructor(
    kernels: AttentionKernels,
    memory: WebAssembly.Memory,
    layout: AttentionLayout,
    worker: number,
  ) {
    const scratch = layout.scratch[worker];
    if (!scratch) {
      throw new RangeError(
        `worker ${worker} has no scratch in a ${layout.workerCount}-worker plan`,
      );
    }
    this.#kernels = kernels;
    this.#layout = layout;
    const control = layout.tensors.control;
    this.#control = new Int32Array(memory.buffer, control.offset, control.floats);
    this.#packedB = address(scratch.packedB);
    this.#tile = address(scratch.tile);
  }

  /** Take and run units of `phase` until none is left. */
  run(phase: Phase): void {
    const total = unitCount(this.#layout, phase);
    // what this worker's packed-B scratch holds; stale after the phase, so local to it
    let packed = -1;
    for (;;) {
      const unit = Atomics.add(this.#control, Control.NextUnit, 1);
      if (unit >= total) return;
      if (phase === "project") packed = this.#project(unit, packed);
      else if (phase === "attend") packed = this.#attend(unit, packed);
      else packed = this.#output(unit, packed);
    }
  }

  #blockRows(block: number): [start: number, rows: number] {
    const start = block * BLOCK_ROWS;
    return [start, Math.min(BLOCK_ROWS, this.#layout.shape.seqLen - start)];
  }

  /** output = input @ weight + bias for one row block; the weight is already packed. */
  #linear(block: number, bias: Region, input: Region, output: Region): void {
    const d = this.#layout.shape.dModel;
    const [start, rows] = this.#blockRows(block);
    this.#kernels.gemm(
      rows,
      d,
      d,
      address(input, start * d),
      d,
      this.#packedB,
      address(output, start * d),
      d,
      address(bias),
      1,
      this.#tile,
    );
  }

  #project(unit: number, packed: number): number {
    const t = this.#layout.tensors;
    const blocks = stripCount(this.#layout.shape.seqLen);
    const projection = Math.floor(unit / blocks);
    const [weight, bias, output] = [[t.wQ, t.bQ, t.q], [t.wK, t.bK, t.k], [t.wV, t.bV, t.v]][
      projection
    ]!;
    if (packed !== projection) this.#packWeight(weight!);
    this.#linear(unit % blocks, bias!, t.x, output!);
    return projection;
  }

  #output(unit: number, packed: number): number {
    const t = this.#layout.tensors;
    const outputProjection = 0;
    if (packed !== outputProjection) this.#packWeight(t.wO);
    this.#linear(unit, t.bO, t.concat, t.out);
    return outputProjection;
  }

  #packWeight(weight: Region): void {
    const d = this.#layout.shape.dModel;
    this.#kernels.packB(address(weight), d, 0, d, d, this.#packedB);
  }

  #attend(unit: number, packed: number): number {
    const { tensors: t, shape } = this.#layout;
    const { seqLen: n, dModel: d } = shape;
    const dK = headWidth(shape);
    const blocks = stripCount(n);
    const head = Math.floor(unit / blocks), strip = unit % blocks;
    const headColumn = head * dK;
    const packedKeys = this.#packedB;
    const packedValues = this.#packedB + packedKFloats(shape) * 4;
    if (packed !== head) {
      // B of the scores is k_hᵀ: element [c][j] = k[j][headColumn + c]
      this.#kernels.packB(address(t.k, headColumn), d, 1, dK, n, packedKeys);
      this.#kernels.packB(address(t.v, headColumn), d, 0, n, dK, packedValues);
    }
    // the strip's score rows still hold head − 1 until that unit is done
    const slot = Control.StripHead + strip;
    for (let holds = Atomics.load(this.#control, slot); holds !== head;) {
      Atomics.wait(this.#control, slot, holds);
      holds = Atomics.load(this.#control, slot);
    }
    const [start, rows] = this.#blockRows(strip);
    const scores = address(t.scores, start * n);
    this.#kernels.gemm(
      rows,
      n,
      dK,
      address(t.q, start * d + headColumn),
      d,
      packedKeys,
      scores,
      n,
      0,
      1 / Math.sqrt(dK),
      this.#tile,
    );
    this.#kernels.softmaxRows(scores, rows, n, n);
    this.#kernels.gemm(
      rows,
      dK,
      n,
      scores,
      n,
      packedValues,
      address(t.concat, start * d + headColumn),
      d,
      0,
      1,
      this.#tile,
    );
    Atomics.store(this.#control, slot, head + 1);
    Atomics.notify(this.#control, slot);
    return head;
  }
}
