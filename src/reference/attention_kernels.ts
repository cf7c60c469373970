/**
 * The work of the CPU path's workers: one forward is three phases, each a queue of units that the
 * workers take in order from a shared counter (Atomics.add), so a worker slowed by another process
 * simply takes fewer units. Workers meet at a barrier between phases; the whole forward is one
 * message to each worker, so an idle worker is woken once per forward, not once per phase.
 *
 * 1. `project`: four units pack wQ, wK, wV, wO for the gemm kernel, into shared memory; then units
 *    (projection p ∈ q, k, v; block of {@link BLOCK_ROWS} rows of batch·seqLen), p-major:
 *    p = x @ w_p + b_p for the block, once w_p's packing unit is done (k and v are kvHeads·dK
 *    wide).
 * 2. `attend`, softmax attention: units (sequence b, head h, strip s of BLOCK_ROWS query rows),
 *    (b, h)-major (`softmax_attention.ts`): scores of the strip = q_h @ k_gᵀ / √dK (g the kv head
 *    of h) written to the head's score rows in shared memory, softmax of those rows in place, then
 *    o_h = p @ v_g into the concatenated heads. The matrix is materialised as in PyTorch's
 *    standard attention (every score is stored, then read back); working a strip at a time only
 *    keeps the strip's rows in cache between the three steps. The strip's rows are reused by every
 *    (b, h), so unit (b, h, s) waits until the unit of the (b, h) before it and strip s is done.
 *    Linear attention: units (b, h), each a whole head (`linear_attention.ts`).
 * 3. `output`: units (block of rows): out = concat @ wO + bO.
 *
 * A worker packs the kv head's k and v it needs into its own scratch when the unit it takes is
 * of another kv head or sequence (units are head-major, so that is about once per kv head).
 * Rows are independent and every element is computed by the same arithmetic whatever unit or
 * worker computes it, so the output is byte-identical for any worker count.
 *
 * @module
 */

import { kvHeadOf } from "../shape.ts";
import { addFeatureMapKernel, type FeatureMapExports } from "./feature_map.ts";
import { linearHead } from "./linear_attention.ts";
import { addMatmulKernels, type MatmulExports, packedBFloats, TILE_FLOATS } from "./matmul.ts";
import {
  type AttentionLayout,
  BLOCK_ROWS,
  Control,
  MAX_WASM_PAGES,
  type Region,
  stripCount,
  type WorkerScratch,
} from "./memory_layout.ts";
import { addSoftmaxKernel, type SoftmaxExports } from "./softmax.ts";
import { attendStrip, packKeysAndValues } from "./softmax_attention.ts";
import { ModuleBuilder } from "./wasm_emitter.ts";

/** Every kernel of the CPU path, as one instance exports them. */
export type AttentionKernels = MatmulExports & SoftmaxExports & FeatureMapExports;

/** What an attention unit works with: one worker's kernels, the plan and the worker's scratch. */
export interface UnitContext {
  kernels: AttentionKernels;
  layout: AttentionLayout;
  scratch: WorkerScratch;
  /** the whole shared memory as f32 */
  floats: Float32Array;
  /** byte address of the worker's edge-tile scratch */
  tile: number;
}

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
  addFeatureMapKernel(module);
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
    kernels.gemm(size, size, size, a, size, packed, size, c, size, b, 0.125, 0, tile);
    kernels.gemm(size - 3, size - 5, size - 1, a, size, packed, size, c, size, 0, 1, 1, tile);
    kernels.softmaxRows(c, size, size - 1, size);
    kernels.featureMap(a, size, size - 1, size, c, size, round % 2);
  }
}

/** Weight matrices packed by the first units of the project phase: wQ, wK, wV, wO. */
const PACKED_WEIGHTS = 4;

/** Units of work in a phase. */
export function unitCount(layout: AttentionLayout, phase: Phase): number {
  const { batch, seqLen, heads, attention } = layout.shape;
  const rowBlocks = stripCount(batch * seqLen);
  if (phase === "project") return PACKED_WEIGHTS + 3 * rowBlocks;
  if (phase === "attend") return batch * heads * (attention === "linear" ? 1 : stripCount(seqLen));
  return rowBlocks;
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
  readonly #context: UnitContext;

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
    const floats = new Float32Array(memory.buffer);
    this.#context = { kernels, layout, scratch, floats, tile: address(scratch.tile) };
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
    // the (sequence, kv head) whose k and v this worker's scratch holds; stale after the phase
    let packedKv = -1;
    for (;;) {
      const unit = Atomics.add(this.#control, Control.NextUnit + index, 1);
      if (unit >= total) return;
      if (phase === "project") this.#project(unit);
      else if (phase === "attend") packedKv = this.#attend(unit, packedKv);
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
    const { batch, seqLen } = this.#layout.shape;
    const start = block * BLOCK_ROWS;
    return [start, Math.min(BLOCK_ROWS, batch * seqLen - start)];
  }

  /** output = input @ weight + bias for one row block, with the weight's packed copy. */
  #linear(block: number, packedWeight: Region, bias: Region, input: Region, output: Region): void {
    const d = this.#layout.shape.dModel;
    const columns = bias.floats;
    const [start, rows] = this.#blockRows(block);
    this.#kernels.gemm(
      rows,
      columns,
      d,
      address(input, start * d),
      d,
      address(packedWeight),
      d,
      address(output, start * columns),
      columns,
      address(bias),
      1,
      0,
      this.#context.tile,
    );
  }

  /** Units 0–3 pack wQ, wK, wV, wO; then (projection, row block), projection-major. */
  #project(unit: number): void {
    const t = this.#layout.tensors;
    if (unit < PACKED_WEIGHTS) {
      const d = this.#layout.shape.dModel;
      const [weight, bias] = [[t.wQ, t.bQ], [t.wK, t.bK], [t.wV, t.bV], [t.wO, t.bO]][unit]!;
      const columns = bias!.floats;
      this.#kernels.packB(
        address(weight!),
        columns,
        0,
        d,
        columns,
        address(t.packedWeights[unit]!),
      );
      Atomics.store(this.#control, Control.WeightPacked + unit, 1);
      Atomics.notify(this.#control, Control.WeightPacked + unit);
      return;
    }
    const { batch, seqLen } = this.#layout.shape;
    const blocks = stripCount(batch * seqLen);
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

  /**
   * Softmax: unit (sequence, head, strip), (sequence, head)-major; linear: unit (sequence, head).
   * Returns the (sequence, kv head) whose k and v the scratch now holds.
   */
  #attend(unit: number, packedKv: number): number {
    const shape = this.#layout.shape;
    if (shape.attention === "linear") {
      linearHead(this.#context, Math.floor(unit / shape.heads), unit % shape.heads);
      return -1;
    }
    const blocks = stripCount(shape.seqLen);
    const sequenceHead = Math.floor(unit / blocks), strip = unit % blocks;
    const sequence = Math.floor(sequenceHead / shape.heads), head = sequenceHead % shape.heads;
    const kvHead = kvHeadOf(shape, head);
    const kv = sequence * shape.kvHeads + kvHead;
    if (packedKv !== kv) packKeysAndValues(this.#context, sequence, kvHead);
    // the strip's score rows still hold the previous (sequence, head) until that unit is done
    const slot = Control.StripHead + strip;
    this.#waitUntil(slot, sequenceHead);
    attendStrip(this.#context, sequence, head, strip);
    Atomics.store(this.#control, slot, sequenceHead + 1);
    Atomics.notify(this.#control, slot);
    return kv;
  }
}
