/**
 * The work of the CPU path's workers: one forward is three phases, each a queue of units that the
 * workers take in order from a shared counter (Atomics.add), so a worker slowed by another process
 * simply takes fewer units. Workers meet at a barrier between phases; the whole forward is one
 * message to each worker, so an idle worker is woken once per forward, not once per phase.
 *
 * 1. `project`: four units pack wQ, wK, wV, wO for the gemm kernel, into shared memory; then units
 *    (projection p ∈ q, k, v; block of {@link BLOCK_ROWS} rows), p-major: p = x @ w_p + b_p for
 *    the block, once w_p's packing unit is done.
 * 2. `attend`: units (head h, strip s of BLOCK_ROWS query rows), head-major: scores of the strip =
 *    q_h @ k_hᵀ / √dK written to the head's seqLen × seqLen matrix in shared memory, softmax of
 *    those rows in place, then o_h = p @ v_h into the concatenated heads. The matrix is
 *    materialised as in PyTorch's standard attention (every score is stored, then read back);
 *    working a strip at a time only keeps the strip's rows in cache between the three steps. The
 *    strip's rows are reused by every head, so unit (h, s) waits until unit (h − 1, s) is done.
 * 3. `output`: units (block of rows): out = concat @ wO + bO.
 *
 * A worker packs the head's k and v it needs into its own scratch when the unit it takes is of
 * another head (units are head-major, so that is about once per head).
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
export const PHASES = ["project", "attend", "output"] as const;

/** One of {@link PHASES}. */
export type Phase = (typeof PHASES)[number];

/**
 * How long a worker spins on a shared slot before it sleeps in Atomics.wait: waking a sleeping
 * thread costs ~0.3 ms here, about what a phase's last unit keeps the others waiting.
 */
const SPIN_MS = 2;

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

/** Rounds of {@link warmUpKernels}: enough calls and loop iterations to trigger tier-up. */
const WARM_UP_ROUNDS = 200;

/**
 * Run every kernel on a small scratch problem until V8 has had reason to optimise it. V8 first
 * runs WebAssembly through its baseline compiler and tiers hot functions up in the background;
 * warming up when a worker starts keeps that out of the first forwards (measured at n = 128: the
 * first forward took 2–2.5× the steady time without it, ~1.1× with it). Takes ~20 ms.
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

/** Weight matrices packed by the first units of the project phase: wQ, wK, wV, wO. */
const PACKED_WEIGHTS = 4;

/** Units of work in a phase. */
export function unitCount(layout: AttentionLayout, phase: Phase): number {
  const blocks = stripCount(layout.shape.seqLen);
  if (phase === "project") return PACKED_WEIGHTS + 3 * blocks;
  if (phase === "attend") return layout.shape.heads * blocks;
  return blocks;
}

/**
 * Zero the control region before a forward; the main thread calls it before posting the forward,
 * and the post orders these stores before any worker reads them.
 */
export function resetControl(control: Int32Array): void {
  control.fill(0);
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

  /** One forward: every phase's units this worker gets, with a barrier between phases. */
  forward(): void {
    PHASES.forEach((phase, index) => {
      this.#runPhase(phase, index);
      if (index < PHASES.length - 1) this.#barrier(index);
    });
  }

  /** Take and run units of a phase until none is left. */
  #runPhase(phase: Phase, index: number): void {
    const total = unitCount(this.#layout, phase);
    // the head whose k and v this worker's scratch holds; stale after the phase, so local to it
    let packedHead = -1;
    for (;;) {
      const unit = Atomics.add(this.#control, Control.NextUnit + index, 1);
      if (unit >= total) return;
      if (phase === "project") this.#project(unit);
      else if (phase === "attend") packedHead = this.#attend(unit, packedHead);
      else this.#output(unit);
    }
  }

  /** Return once every worker finished phase `index`. */
  #barrier(index: number): void {
    const everyone = this.#layout.workerCount * (index + 1);
    const arrived = Atomics.add(this.#control, Control.Arrivals, 1) + 1;
    if (arrived === everyone) Atomics.notify(this.#control, Control.Arrivals);
    else this.#waitUntil(Control.Arrivals, everyone);
  }

  /** Return once control slot `slot` holds at least `target`: spin a little, then sleep. */
  #waitUntil(slot: number, target: number): void {
    const start = performance.now();
    for (let spins = 1;; spins++) {
      const value = Atomics.load(this.#control, slot);
      if (value >= target) return;
      if (spins % 64 === 0 && performance.now() - start > SPIN_MS) {
        Atomics.wait(this.#control, slot, value);
      }
    }
  }

  #blockRows(block: number): [start: number, rows: number] {
    const start = block * BLOCK_ROWS;
    return [start, Math.min(BLOCK_ROWS, this.#layout.shape.seqLen - start)];
  }

  /** output = input @ weight + bias for one row block, with the weight's packed copy. */
  #linear(block: number, packedWeight: Region, bias: Region, input: Region, output: Region): void {
    const d = this.#layout.shape.dModel;
    const [start, rows] = this.#blockRows(block);
    this.#kernels.gemm(
      rows,
      d,
      d,
      address(input, start * d),
      d,
      address(packedWeight),
      address(output, start * d),
      d,
      address(bias),
      1,
      this.#tile,
    );
  }

  /** Units 0–3 pack wQ, wK, wV, wO; then (projection, row block), projection-major. */
  #project(unit: number): void {
    const t = this.#layout.tensors;
    if (unit < PACKED_WEIGHTS) {
      const d = this.#layout.shape.dModel;
      const weight = [t.wQ, t.wK, t.wV, t.wO][unit]!;
      this.#kernels.packB(address(weight), d, 0, d, d, address(t.packedWeights[unit]!));
      Atomics.store(this.#control, Control.WeightPacked + unit, 1);
      Atomics.notify(this.#control, Control.WeightPacked + unit);
      return;
    }
    const blocks = stripCount(this.#layout.shape.seqLen);
    const projection = Math.floor((unit - PACKED_WEIGHTS) / blocks);
    const [bias, output] = [[t.bQ, t.q], [t.bK, t.k], [t.bV, t.v]][projection]!;
    // the packing unit was taken earlier; it may still be running
    this.#waitUntil(Control.WeightPacked + projection, 1);
    this.#linear(
      (unit - PACKED_WEIGHTS) % blocks,
      t.packedWeights[projection]!,
      bias!,
      t.x,
      output!,
    );
  }

  /** Unit b: the output projection of row block b (wO was packed in the project phase). */
  #output(unit: number): void {
    const t = this.#layout.tensors;
    this.#linear(unit, t.packedWeights[3], t.bO, t.concat, t.out);
  }

  /** Unit (head, strip), head-major; returns the head whose k and v the scratch now holds. */
  #attend(unit: number, packedHead: number): number {
    const { tensors: t, shape } = this.#layout;
    const { seqLen: n, dModel: d } = shape;
    const dK = headWidth(shape);
    const blocks = stripCount(n);
    const head = Math.floor(unit / blocks), strip = unit % blocks;
    const headColumn = head * dK;
    const packedKeys = this.#packedB;
    const packedValues = this.#packedB + packedKFloats(shape) * 4;
    if (packedHead !== head) {
      // B of the scores is k_hᵀ: element [c][j] = k[j][headColumn + c]
      this.#kernels.packB(address(t.k, headColumn), d, 1, dK, n, packedKeys);
      this.#kernels.packB(address(t.v, headColumn), d, 0, n, dK, packedValues);
    }
    // the strip's score rows still hold head − 1 until that unit is done
    const slot = Control.StripHead + strip;
    this.#waitUntil(slot, head);
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
