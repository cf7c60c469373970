/**
 * The CPU path of multi-head self-attention: the reference every GPU kernel is checked against.
 *
 * Workers share one WebAssembly memory (a SharedArrayBuffer) holding inputs, weights,
 * activations, one head's full score matrix and each worker's scratch; the kernels are WebAssembly
 * SIMD (see `matmul.ts` for why). A forward is three phases (projections, attention, output
 * projection), each a queue of units the workers share (`attention_kernels.ts`). The main thread
 * only zeroes the queues, posts one message per worker and awaits the replies, so its timers keep
 * firing during a forward.
 *
 * Every configuration of src/shape.ts: batch, grouped-query kv heads, the masks `full`, `causal` and
 * `sliding` (masked work skipped, see `softmax_attention.ts`) and linear attention
 * (`linear_attention.ts`).
 *
 * Limits: one 32-bit WebAssembly memory holds everything, so seqLen² + 6·batch·seqLen·dModel f32
 * (plus weights and scratch; a sliding window stores seqLen·(W + 70) scores, linear attention
 * none) must fit in 4 GiB: seqLen up to about 31 000 at dModel 512; a larger shape makes `load()`
 * throw a {@link LayoutTooLargeError}. Workers load their module from disk, so the
 * process needs `--allow-read`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateInputs } from "../random.ts";
 * const cpu = await CpuAttention.create({ workers: 2 });
 * try {
 *   cpu.load(generateInputs({ seqLen: 16, dModel: 64, heads: 4 }, 42));
 *   const { out, memory } = await cpu.forward();
 *   assert(out.length === 16 * 64 && memory.peakBytes > 0);
 * } finally {
 *   cpu.close();
 * }
 * ```
 *
 * @module
 */

import type { AttentionGradients } from "../gradients.ts";
import { type AttentionInputs, type AttentionShape, kvWidth, resolveShape } from "../shape.ts";
import {
  type BackwardLayout,
  backwardMemory,
  backwardRegions,
  planBackwardLayout,
  readGradients,
} from "./backward_layout.ts";
import {
  allRegions,
  type AttentionLayout,
  bytesByClass,
  LayoutTooLargeError,
  planLayout,
  type Region,
} from "./memory_layout.ts";
import type { WorkerReply, WorkerRequest } from "./worker_protocol.ts";
import { resetControl } from "./attention_kernels.ts";

export { LayoutTooLargeError };

/**
 * Exact typed-array bytes live during one forward, inputs and weights included: every buffer is
 * allocated by `load()` and stays live through the forward, so the peak is their sum. Alignment
 * padding between buffers and the memory's rounding up to 64 KiB pages (< 64 KiB + 64 B per
 * buffer) are not counted.
 */
export interface ForwardMemory {
  /** the peak of typed-array bytes live during the forward */
  peakBytes: number;
  /**
   * "weights": 4 matrices and 4 biases, and the matrices' copy packed for the kernels (written
   * in every forward); "activations": x, q, k, v, concat, out, the returned copy of out, each
   * worker's packing scratch for one head's k and v (linear attention: also φ(K)ᵀ, the state S′
   * and a chunk's numerators), and the scheduling slots; "scores": one head's seqLen × seqLen
   * matrix (sliding: seqLen × the band; linear: none)
   */
  peakBytesByClass: Record<string, number>;
}

/** A worker failed, or was closed while a request was pending. */
export class CpuWorkerError extends Error {
  override name = "CpuWorkerError";
}

/** One worker and the replies it owes, in request order. */
class WorkerChannel {
  readonly #worker: Worker;
  #pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;

  constructor(url: string) {
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#settle(event.data);
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new CpuWorkerError(`CPU attention worker crashed: ${event.message}`));
    };
    this.#worker.onmessageerror = () => {
      this.#fail(new CpuWorkerError("CPU attention worker sent a message that cannot be read"));
    };
  }

  /** Resolves on the worker's `ready` (its first reply). */
  ready(): Promise<void> {
    return this.#expectReply();
  }

  request(message: WorkerRequest): Promise<void> {
    const reply = this.#expectReply();
    if (!this.#failure) this.#worker.postMessage(message);
    return reply;
  }

  terminate(): void {
    this.#worker.terminate();
    this.#fail(new CpuWorkerError("CPU attention worker closed"));
  }

  #expectReply(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  #settle(reply: WorkerReply): void {
    const waiting = this.#pending.shift();
    if (!waiting) return;
    if (reply.kind === "error") {
      waiting.reject(new CpuWorkerError(`CPU attention worker failed: ${reply.message}`));
    } else {
      waiting.resolve();
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiting of this.#pending.splice(0)) waiting.reject(this.#failure);
  }
}

function checkInputs(inputs: AttentionInputs): void {
  const shape = resolveShape(inputs.shape);
  const { seqLen, dModel, heads, batch, kvHeads } = shape;
  const positiveInteger = (value: number) => Number.isInteger(value) && value >= 1;
  const sizes = { seqLen, dModel, heads, batch, kvHeads };
  for (const [name, value] of Object.entries(sizes)) {
    if (!positiveInteger(value)) {
      throw new RangeError(`${name} must be a positive integer (got ${value})`);
    }
  }
  if (dModel % heads !== 0) {
    throw new RangeError(`dModel ${dModel} is not divisible by heads ${heads}`);
  }
  if (heads % kvHeads !== 0) {
    throw new RangeError(`heads ${heads} is not divisible by kvHeads ${kvHeads}`);
  }
  if (shape.mask === "sliding" && !positiveInteger(shape.window)) {
    throw new RangeError(`the sliding window must be a positive integer (got ${shape.window})`);
  }
  if (shape.attention === "linear" && shape.mask === "sliding") {
    throw new RangeError("linear attention supports the full and causal masks only");
  }
  const expect = (name: string, array: Float32Array, length: number) => {
    if (array.length !== length) {
      throw new RangeError(`${name} has ${array.length} elements, expected ${length}`);
    }
  };
  expect("x", inputs.x, batch * seqLen * dModel);
  const w = inputs.weights, kvW = kvWidth(shape);
  const widths = [["Q", dModel], ["K", kvW], ["V", kvW], ["O", dModel]] as const;
  for (const [name, columns] of widths) {
    expect(`w${name}`, w[`w${name}`], dModel * columns);
    expect(`b${name}`, w[`b${name}`], columns);
  }
}

/** The CPU path: a pool of workers and the shared memory of the loaded inputs. */
export class CpuAttention {
  /** the number of Workers the forward is split across */
  readonly workerCount: number;
  readonly #channels: WorkerChannel[];
  #memory: WebAssembly.Memory | undefined;
  #layout: AttentionLayout | undefined;
  #backwardLayout: BackwardLayout | undefined;
  /** whether a forward ran since the last load: a backward reads what it left */
  #forwardDone = false;
  /** the workers' replies to the last load's `bind` */
  #binding: Promise<unknown> = Promise.resolve();
  #busy = false;
  #closed = false;

  private constructor(channels: WorkerChannel[]) {
    this.#channels = channels;
    this.workerCount = channels.length;
  }

  /**
   * Start the workers (default: one per logical core, `navigator.hardwareConcurrency`) and wait
   * until each has compiled the kernels.
   */
  static async create(options: { workers?: number } = {}): Promise<CpuAttention> {
    const workers = options.workers ?? navigator.hardwareConcurrency;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`workers must be a positive integer (got ${workers})`);
    }
    const url = new URL("./attention_worker.ts", import.meta.url).href;
    const channels = Array.from({ length: workers }, () => new WorkerChannel(url));
    const pool = new CpuAttention(channels);
    try {
      await Promise.all(channels.map((channel) => channel.ready()));
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  /** The shape of the loaded inputs, if any. */
  get shape(): AttentionShape | undefined {
    return this.#layout?.shape;
  }

  /**
   * Copy inputs and weights into shared memory (not part of a timed forward). Activation,
   * score and scratch buffers are filled with NaN, so an element a forward fails to write shows.
   * A new shape gets a new memory sized exactly for it. `backward`: plan the backward's memory
   * too, so that {@link CpuAttention.backward} can follow each forward.
   */
  load(inputs: AttentionInputs, options: { backward?: boolean } = {}): void {
    this.#checkOpen();
    if (this.#busy) throw new Error("load() while a forward is running");
    checkInputs(inputs);
    const backward = options.backward
      ? planBackwardLayout({ ...inputs.shape }, this.workerCount)
      : undefined;
    const layout = backward?.forward ?? planLayout({ ...inputs.shape }, this.workerCount);
    const pages = backward?.pages ?? layout.pages;
    if (!this.#memory || this.#memory.buffer.byteLength !== pages * 65536) {
      this.#memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    }
    const buffer = this.#memory.buffer;
    const view = (region: Region) => new Float32Array(buffer, region.offset, region.floats);
    const t = layout.tensors, w = inputs.weights;
    const copies: [Region, Float32Array][] = [
      [t.x, inputs.x],
      [t.wQ, w.wQ],
      [t.bQ, w.bQ],
      [t.wK, w.wK],
      [t.bK, w.bK],
      [t.wV, w.wV],
      [t.bV, w.bV],
      [t.wO, w.wO],
      [t.bO, w.bO],
    ];
    const written = new Set([...copies.map(([region]) => region), t.control]);
    const regions = [...allRegions(layout), ...(backward ? backwardRegions(backward) : [])];
    for (const region of regions) if (!written.has(region)) view(region).fill(NaN);
    for (const [region, source] of copies) view(region).set(source);
    this.#layout = layout;
    this.#backwardLayout = backward;
    this.#forwardDone = false;
    const memory = this.#memory;
    const binding = Promise.all(
      this.#channels.map((channel, worker) =>
        channel.request({ kind: "bind", memory, layout, backward, worker })
      ),
    );
    binding.catch(() => {}); // reported by the next forward, which awaits it
    this.#binding = binding;
  }

  /**
   * One forward on the loaded inputs. Returns a fresh copy of the output ([batch, seqLen, dModel]), or
   * writes it into `options.into` and returns that array.
   */
  async forward(
    options: { into?: Float32Array } = {},
  ): Promise<{ out: Float32Array; memory: ForwardMemory }> {
    this.#checkOpen();
    const layout = this.#layout, memory = this.#memory;
    if (!layout || !memory) throw new Error("forward() before load()");
    if (this.#busy) throw new Error("forward() while another forward is running");
    const outFloats = layout.tensors.out.floats;
    if (options.into && options.into.length !== outFloats) {
      throw new RangeError(`into has ${options.into.length} elements, expected ${outFloats}`);
    }
    this.#busy = true;
    try {
      await this.#binding.catch((error) => {
        this.close();
        throw error;
      });
      const { control: controlRegion, out: outRegion } = layout.tensors;
      const control = new Int32Array(memory.buffer, controlRegion.offset, controlRegion.floats);
      try {
        resetControl(control);
        await Promise.all(this.#channels.map((channel) => channel.request({ kind: "forward" })));
      } catch (error) {
        // the other workers may wait forever at a barrier or on a strip: the pool is done
        this.close();
        throw error;
      }
      const result = new Float32Array(memory.buffer, outRegion.offset, outRegion.floats);
      const out = options.into ?? new Float32Array(outRegion.floats);
      out.set(result);
      this.#forwardDone = true;
      return { out, memory: forwardMemory(layout) };
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The backward of the last forward: the gradients of L = Σ(out ⊙ dOut) with respect to x and
   * every weight and bias (copying dOut in is part of it). Needs `load(…, { backward: true })`.
   * `memory` counts every buffer of the forward (what it kept for the backward) and of the
   * backward, and the returned gradients.
   */
  async backward(
    dOut: Float32Array,
  ): Promise<{ gradients: AttentionGradients; memory: ForwardMemory }> {
    this.#checkOpen();
    const layout = this.#backwardLayout, memory = this.#memory;
    if (!layout || !memory) throw new Error("backward() without load(…, { backward: true })");
    if (!this.#forwardDone) throw new Error("backward() before a forward of the loaded inputs");
    if (this.#busy) throw new Error("backward() while another pass is running");
    const t = layout.tensors;
    if (dOut.length !== t.dOut.floats) {
      throw new RangeError(`dOut has ${dOut.length} elements, expected ${t.dOut.floats}`);
    }
    this.#busy = true;
    try {
      new Float32Array(memory.buffer, t.dOut.offset, t.dOut.floats).set(dOut);
      resetControl(new Int32Array(memory.buffer, t.control.offset, t.control.floats));
      try {
        await Promise.all(this.#channels.map((channel) => channel.request({ kind: "backward" })));
      } catch (error) {
        this.close(); // the other workers may wait forever at a barrier
        throw error;
      }
      return { gradients: readGradients(layout, memory.buffer), memory: backwardMemory(layout) };
    } finally {
      this.#busy = false;
    }
  }

  /** Terminate the workers; pending forwards reject. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of this.#channels) channel.terminate();
    this.#memory = undefined;
    this.#layout = undefined;
    this.#backwardLayout = undefined;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("CpuAttention is closed");
  }
}

/** The typed-array bytes a forward holds live: every region of the plan plus the returned output. */
export function forwardMemory(layout: AttentionLayout): ForwardMemory {
  const byClass = bytesByClass(layout);
  byClass.activations += layout.tensors.out.floats * 4; // the copy handed back to the caller
  const peakBytesByClass: Record<string, number> = { ...byClass };
  const peakBytes = Object.values(byClass).reduce((sum, bytes) => sum + bytes, 0);
  return { peakBytes, peakBytesByClass };
}

/**
 * One forward with a fresh pool of workers, closed afterwards.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateInputs } from "../random.ts";
 * const out = await cpuAttentionForward(generateInputs({ seqLen: 3, dModel: 8, heads: 2 }, 1));
 * assert(out.length === 24);
 * ```
 */
export async function cpuAttentionForward(
  inputs: AttentionInputs,
  options: { workers?: number } = {},
): Promise<Float32Array> {
  const pool = await CpuAttention.create(options);
  try {
    pool.load(inputs);
    return (await pool.forward()).out;
  } finally {
    pool.close();
  }
}
