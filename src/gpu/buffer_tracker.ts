/**
 * Exact GPU memory accounting. WebGPU has no memory query, so every GPUBuffer of a forward is
 * created and destroyed through one tracker, which keeps the live bytes per class and the peak.
 *
 * Classes: `weights` (projection matrices and biases), `activations` (x, q, k, v, the concatenated
 * heads, the output, the small uniform parameter buffers), `scores` (the naive variant's n×n
 * matrices), `staging` (timestamp resolve/readback and output readback buffers).
 *
 * @module
 */

/** What a GPU buffer holds, for the memory breakdown. */
export type BufferClass = "weights" | "activations" | "scores" | "staging";

/** Every buffer class, in report order. */
export const BUFFER_CLASSES: readonly BufferClass[] = [
  "weights",
  "activations",
  "scores",
  "staging",
];

/** Live bytes by class at one moment. */
export type BytesByClass = Record<BufferClass, number>;

/**
 * Creates and destroys GPU buffers and counts their bytes.
 *
 * @example
 * ```ts
 * import { openGpu } from "./device.ts";
 *
 * const gpu = await openGpu();
 * if (gpu) {
 *   const tracker = new BufferTracker(gpu.device);
 *   const b = tracker.create("weights", { size: 256, usage: GPUBufferUsage.STORAGE });
 *   if (tracker.liveBytes !== 256) throw new Error(`${tracker.liveBytes} live bytes`);
 *   tracker.destroy(b);
 *   gpu.destroy();
 * }
 * ```
 */
export class BufferTracker {
  readonly #device: GPUDevice;
  readonly #live = new Map<GPUBuffer, { bufferClass: BufferClass; size: number }>();
  #liveBytes = 0;
  #liveByClass: BytesByClass = _zeroes();
  #peakBytes = 0;
  #peakByClass: BytesByClass = _zeroes();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Create a buffer and count its bytes under `bufferClass`. */
  create(bufferClass: BufferClass, descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = this.#device.createBuffer(descriptor);
    this.#live.set(buffer, { bufferClass, size: descriptor.size });
    this.#liveBytes += descriptor.size;
    this.#liveByClass[bufferClass] += descriptor.size;
    if (this.#liveBytes > this.#peakBytes) {
      this.#peakBytes = this.#liveBytes;
      this.#peakByClass = { ...this.#liveByClass };
    }
    return buffer;
  }

  /** Destroy a buffer created here (a second call is a no-op). */
  destroy(buffer: GPUBuffer): void {
    const entry = this.#live.get(buffer);
    if (entry === undefined) return;
    this.#live.delete(buffer);
    this.#liveBytes -= entry.size;
    this.#liveByClass[entry.bufferClass] -= entry.size;
    buffer.destroy();
  }

  /** Destroy every buffer still live. */
  destroyAll(): void {
    for (const buffer of [...this.#live.keys()]) this.destroy(buffer);
  }

  /** Start a new peak from the bytes live now (call before the work whose peak is wanted). */
  resetPeak(): void {
    this.#peakBytes = this.#liveBytes;
    this.#peakByClass = { ...this.#liveByClass };
  }

  get liveBytes(): number {
    return this.#liveBytes;
  }

  get liveBytesByClass(): BytesByClass {
    return { ...this.#liveByClass };
  }

  /** The most bytes live at once since the last `resetPeak()` (or creation). */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** The live bytes by class at the moment of the peak (they sum to `peakBytes`). */
  get peakBytesByClass(): BytesByClass {
    return { ...this.#peakByClass };
  }
}

function _zeroes(): BytesByClass {
  return { weights: 0, activations: 0, scores: 0, staging: 0 };
}
