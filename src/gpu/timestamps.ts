/**
 * Per-stage GPU time from timestamp queries: every stage is one compute pass whose beginning and
 * end write a timestamp. After the submission, the query set is resolved into a buffer, copied to a
 * mappable one and read as nanoseconds (BigUint64Array). Resolve → copy → map, because a query
 * set cannot be mapped and a QUERY_RESOLVE buffer cannot be MAP_READ.
 *
 * Degrades: without the "timestamp-query" feature nothing is written and `read()` gives null.
 * A stage whose end precedes its beginning (a driver that reorders or wraps timestamps) makes the
 * whole reading null: such a forward's stage times are dropped, not guessed.
 *
 * @module
 */

import type { BufferTracker } from "./buffer_tracker.ts";

const BYTES_PER_TIMESTAMP = 8;

/** Where the stages of one forward ran on the GPU's clock, in milliseconds. */
export interface StageSpans {
  /** duration of each stage */
  stageMs: number[];
  /** begin of each stage after the earliest stage's begin (the first stage run: 0) */
  startMs: number[];
}

/**
 * Timestamps of the stages of one forward.
 *
 * @example
 * ```ts
 * import { BufferTracker } from "./buffer_tracker.ts";
 * import { openGpu } from "./device.ts";
 *
 * const gpu = await openGpu();
 * if (gpu) {
 *   const tracker = new BufferTracker(gpu.device);
 *   const timer = new StageTimestamps(gpu.device, tracker, 1, gpu.hasTimestamps);
 *   const encoder = gpu.device.createCommandEncoder();
 *   encoder.beginComputePass({ timestampWrites: timer.passTimestampWrites(0) }).end();
 *   timer.resolve(encoder);
 *   gpu.device.queue.submit([encoder.finish()]);
 *   console.log(await timer.read()); // [ms] or null
 *   timer.destroy();
 *   gpu.destroy();
 * }
 * ```
 */
export class StageTimestamps {
  readonly stageCount: number;
  readonly #tracker: BufferTracker;
  readonly #querySet: GPUQuerySet | null = null;
  readonly #resolveBuffer: GPUBuffer | null = null;
  readonly #readBuffer: GPUBuffer | null = null;

  /** `enabled` false (or a device without the feature) gives a timer that records nothing. */
  constructor(device: GPUDevice, tracker: BufferTracker, stageCount: number, enabled: boolean) {
    this.stageCount = stageCount;
    this.#tracker = tracker;
    if (!enabled || !device.features.has("timestamp-query") || stageCount === 0) return;
    const count = 2 * stageCount;
    const size = count * BYTES_PER_TIMESTAMP;
    this.#querySet = device.createQuerySet({ label: "stage timestamps", type: "timestamp", count });
    this.#resolveBuffer = tracker.create("staging", {
      label: "stage timestamps: resolve",
      size,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.#readBuffer = tracker.create("staging", {
      label: "stage timestamps: read",
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /** Whether stage times will be recorded. */
  get enabled(): boolean {
    return this.#querySet !== null;
  }

  /** The `timestampWrites` of stage `stage`'s compute pass (undefined when disabled). */
  passTimestampWrites(stage: number): GPUComputePassTimestampWrites | undefined {
    if (this.#querySet === null) return undefined;
    if (!(stage >= 0 && stage < this.stageCount)) throw new RangeError(`no stage ${stage}`);
    return {
      querySet: this.#querySet,
      beginningOfPassWriteIndex: 2 * stage,
      endOfPassWriteIndex: 2 * stage + 1,
    };
  }

  /** Encode the resolve and the copy to the mappable buffer (after the last pass). */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.#querySet === null) return;
    const count = 2 * this.stageCount;
    encoder.resolveQuerySet(this.#querySet, 0, count, this.#resolveBuffer!, 0);
    encoder.copyBufferToBuffer(
      this.#resolveBuffer!,
      0,
      this.#readBuffer!,
      0,
      count * BYTES_PER_TIMESTAMP,
    );
  }

  /**
   * Milliseconds per stage of the last submitted forward, or null (disabled, or a negative span).
   * Call after the submission containing `resolve()`. `stages`: the stages that submission ran
   * (default: all), in the order wanted.
   */
  async read(stages?: readonly number[]): Promise<number[] | null> {
    return (await this.readSpans(stages))?.stageMs ?? null;
  }

  /**
   * Each stage's duration and begin time of the last submitted forward, or null (disabled, or a
   * negative span). Begin times are offsets from the earliest beginning among `stages` (default:
   * all), in `stages` order: where the stages lie inside the forward, for a trace.
   */
  async readSpans(stages?: readonly number[]): Promise<StageSpans | null> {
    if (this.#readBuffer === null) return null;
    await this.#readBuffer.mapAsync(GPUMapMode.READ);
    const ticks = new BigUint64Array(this.#readBuffer.getMappedRange().slice(0));
    this.#readBuffer.unmap();
    const order = stages ?? Array.from({ length: this.stageCount }, (_, stage) => stage);
    const begins = order.map((stage) => ticks[2 * stage]!);
    const ends = order.map((stage) => ticks[2 * stage + 1]!);
    if (begins.some((begin, i) => ends[i]! < begin)) return null;
    const first = begins.reduce((a, b) => (b < a ? b : a));
    // timestamps are nanoseconds
    return {
      stageMs: begins.map((begin, i) => Number(ends[i]! - begin) / 1e6),
      startMs: begins.map((begin) => Number(begin - first) / 1e6),
    };
  }

  destroy(): void {
    this.#querySet?.destroy();
    if (this.#resolveBuffer) this.#tracker.destroy(this.#resolveBuffer);
    if (this.#readBuffer) this.#tracker.destroy(this.#readBuffer);
  }
}
