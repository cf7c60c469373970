/**
 * Multi-head self-attention on the GPU, in two variants:
 *
 * - `naive`: five stages — Q|K|V projection (one dispatch), scores, softmax, weighted values,
 *   output projection — storing every head's scores (n×n, O(n²) memory; a band of n×~W for
 *   sliding:W), in windows that each fit `maxStorageBufferBindingSize` (src/gpu/variants/naive.ts).
 * - `fused`: projection, one flash-attention kernel (online softmax over key blocks, O(n) memory),
 *   output projection.
 *
 * Every configuration of src/shape.ts but linear attention: batch (x is [batch·n, d_model]),
 * grouped-query kv heads, and the full, causal and sliding masks (the kernels skip what the mask
 * hides; kernels/mask.wgsl).
 *
 * Both variants run in f32 or, where the device has "shader-f16", with f16 storage of every
 * buffer (inputs, weights, activations, scores) and f32 arithmetic: `precision` in the options.
 *
 * A forward is one submission; each stage is one compute pass with timestamps at its beginning and
 * end. Inputs and weights are uploaded apart from the forward, and the output read back apart.
 * Every GPU buffer goes through one BufferTracker, so the peak of live bytes is exact.
 *
 * @module
 */

import { type AttentionInputs, type AttentionShape, kvWidth, resolveShape } from "../shape.ts";
import { type VariantName, VARIANTS } from "../variants/registry.ts";
import { BufferTracker } from "./buffer_tracker.ts";
import type { GpuContext } from "./device.ts";
import {
  type KernelId,
  type KernelParameters,
  kernelPipeline,
  KERNELS,
  type Precision,
  type TuningName,
  TUNINGS,
} from "./kernels.ts";
import {
  type BufferName,
  type Dispatch,
  formatGib,
  NO_SHADER_F16,
  PARAMS_BYTES,
  paramsStride,
  type Plan,
  planForward,
  type ScoreWindow,
} from "./plan.ts";
import { primeSoftmax } from "./softmax_priming.ts";
import { StageTimestamps } from "./timestamps.ts";
import { MAX_FUSED_HEAD_WIDTH } from "./variants/fused.ts";
import { packWeightPanels } from "./weight_panels.ts";

/** Whether a point fits the device, with the bytes it needs (and, when not, why). */
export type Preflight =
  | { fits: true; bytesNeeded: number }
  | { fits: false; reason: string; bytesNeeded: number; bytesAllowed: number };

/** Options for tests and benchmarks; the profile uses the defaults. */
export interface GpuAttentionOptions {
  /** kernel parameters; default: `software` on a software adapter, else `hardware` */
  tuning?: TuningName;
  /** replace some kernels' parameters of the tuning (benchmarks of other sizes) */
  parameters?: Partial<Record<KernelId, KernelParameters>>;
  /** cap each score window below the device's binding limit (tests of the windowing) */
  maxScoreWindowBytes?: number;
  /** element type of every storage buffer, default f32; f16 needs the "shader-f16" feature */
  precision?: Precision;
}

export { MAX_FUSED_HEAD_WIDTH, NO_SHADER_F16 };

/** A GPU error while running a forward (validation error, lost device). */
export class GpuForwardError extends Error {
  override name = "GpuForwardError";
}

/** A point that the preflight rejected was created anyway. */
export class GpuPreflightError extends Error {
  override name = "GpuPreflightError";
}

/** The tuning asked for, else the adapter's kind: `software` (lavapipe) or `hardware`. */
export function tuningOf(ctx: GpuContext, options: { tuning?: TuningName } = {}): TuningName {
  return options.tuning ?? (ctx.adapter.isSoftware ? "software" : "hardware");
}

function _kernelsOf(
  ctx: GpuContext,
  tuning: TuningName,
  options: GpuAttentionOptions,
): Readonly<Record<KernelId, KernelParameters>> {
  // explicit tuning names a built-in set: the adapter's tuned parameters apply to the default only
  const tuned = options.tuning === undefined ? ctx.kernelParameters : undefined;
  return { ...TUNINGS[tuning], ...tuned, ...options.parameters };
}

/** The plan of a point on this device, as preflight and create both need it. */
function _planFor(
  ctx: GpuContext,
  variant: VariantName,
  shape: AttentionShape,
  options: GpuAttentionOptions,
) {
  const tuning = tuningOf(ctx, options);
  const planned = planForward({
    limits: ctx.device.limits,
    budgetBytes: ctx.memoryBudgetBytes ?? Infinity,
    hasTimestamps: ctx.hasTimestamps,
    variant,
    shape,
    tuning,
    kernels: _kernelsOf(ctx, tuning, options),
    precision: options.precision ?? "f32",
    hasShaderF16: options.precision !== "f16" || ctx.device.features.has("shader-f16"),
    maxScoreWindowBytes: options.maxScoreWindowBytes,
  });
  return { ...planned, tuning };
}

/** A compute pass's work: one pipeline, its bind group and its grid. */
interface EncodedDispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: number[];
}

/** The pipeline of a dispatch is shared by every dispatch of the same kernel and parameters. */
function _pipelineKey(dispatch: Dispatch): string {
  return JSON.stringify([dispatch.kernel, dispatch.parameters]);
}

/** Compile every distinct (kernel, parameters) of the plan once. */
async function _buildPipelines(
  device: GPUDevice,
  plan: Plan,
  shape: AttentionShape,
): Promise<Map<string, GPUComputePipeline>> {
  const headTemplate = { HEAD_BLOCKS: shape.dModel / shape.heads / 4 };
  const distinct = new Map(
    plan.stages.flat().map((dispatch) => [_pipelineKey(dispatch), dispatch]),
  );
  return new Map(
    await Promise.all([...distinct].map(async ([key, dispatch]) => {
      const kernel = KERNELS[dispatch.kernel];
      const pipeline = await kernelPipeline(
        device,
        kernel,
        dispatch.parameters,
        headTemplate,
        plan.precision,
      );
      return [key, pipeline] as const;
    })),
  );
}

/**
 * Write every dispatch's uniform parameters into the params buffer (one aligned slot each) and
 * build its bind group.
 */
function _encodePasses(
  device: GPUDevice,
  plan: Plan,
  pipelines: ReadonlyMap<string, GPUComputePipeline>,
  bufferOf: (binding: Dispatch["bindings"][number]) => GPUBuffer,
): EncodedDispatch[][] {
  const stride = paramsStride(device.limits);
  const paramsBuffer = bufferOf("params");
  const paramsData = new ArrayBuffer(paramsBuffer.size);
  const words = new Uint32Array(paramsData);
  const floats = new Float32Array(paramsData);
  let slot = 0;
  const passes = plan.stages.map((stage) =>
    stage.map((dispatch) => {
      const offset = slot++ * stride;
      dispatch.params.forEach((value, i) => {
        if (typeof value === "number") words[offset / 4 + i] = value;
        else floats[offset / 4 + i] = value.f32;
      });
      const pipeline = pipelines.get(_pipelineKey(dispatch))!;
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: paramsBuffer, offset, size: PARAMS_BYTES } },
        ...dispatch.bindings.map((name, i) => ({
          binding: i + 1,
          resource: { buffer: bufferOf(name) },
        })),
      ];
      const bindGroup = device.createBindGroup({
        label: dispatch.kernel,
        layout: pipeline.getBindGroupLayout(0),
        entries,
      });
      return { pipeline, bindGroup, grid: dispatch.grid };
    })
  );
  device.queue.writeBuffer(paramsBuffer, 0, paramsData);
  return passes;
}

/** The forward's buffers a backward reads. */
export type KeptBufferName = "x" | "q" | "k" | "v" | "concat";

/**
 * What a forward keeps for its backward: those buffers, the fused variant's log-sum-exp per query
 * (f32 [batch, heads, n]) and the naive variant's P windows.
 */
export type KeptBuffers = Record<KeptBufferName, GPUBuffer> & {
  lse?: GPUBuffer;
  windows?: GPUBuffer[];
  scoreWindows?: readonly ScoreWindow[];
};

/** The times of one forward (see {@link GpuAttention.forward}). */
export interface ForwardTiming {
  /** submit → done of the whole forward, ms */
  wallMs: number;
  /** each stage's timestamp-query time, ms (null without timestamps) */
  stageMs: number[] | null;
  /** optional: stand-ins for tests may leave it out */
  stageStartMs?: number[] | null;
  /** performance.now() at the submission, where `wallMs` begins (stand-ins may leave it out) */
  startMs?: number;
}

/**
 * One attention forward on the GPU, for one variant and one shape: pipelines, buffers and
 * dispatches are built once by `create`, then `upload`, `forward` (any number of times) and
 * `readback`.
 *
 * @example
 * ```ts
 * import { openGpu } from "./device.ts";
 * import { generateInputs } from "../random.ts";
 *
 * const gpu = await openGpu();
 * if (gpu) {
 *   const shape = { seqLen: 16, dModel: 64, heads: 4 };
 *   const attention = await GpuAttention.create(gpu, "fused", shape);
 *   await attention.upload(generateInputs(shape, 42));
 *   const { wallMs } = await attention.forward();
 *   const { out } = await attention.readback();
 *   if (!(wallMs > 0) || out.length !== 16 * 64) throw new Error("no forward");
 *   attention.destroy();
 *   gpu.destroy();
 * }
 * ```
 */
export class GpuAttention {
  /** the kernel variant */
  readonly variant: VariantName;
  /** the shape the buffers were made for */
  readonly shape: AttentionShape;
  /** the stages timed, in dispatch order */
  readonly stageNames: string[];
  readonly #ctx: GpuContext;
  readonly #plan: Plan;
  readonly #tracker: BufferTracker;
  readonly #buffers: Map<BufferName, GPUBuffer>;
  readonly #windows: GPUBuffer[];
  readonly #passes: EncodedDispatch[][];
  readonly #timestamps: StageTimestamps;
  /** rejects when the device is lost (handled, so a later loss is never an unhandled rejection) */
  readonly #lost: Promise<never>;
  #lastPeak: { peakBytes: number; peakBytesByClass: Record<string, number> } | null = null;
  #destroyed = false;

  private constructor(
    ctx: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    plan: Plan,
    parts: {
      tracker: BufferTracker;
      buffers: Map<BufferName, GPUBuffer>;
      windows: GPUBuffer[];
      passes: EncodedDispatch[][];
      timestamps: StageTimestamps;
    },
  ) {
    this.#ctx = ctx;
    this.variant = variant;
    this.shape = shape;
    this.stageNames = [...VARIANTS[variant].stages];
    this.#plan = plan;
    this.#tracker = parts.tracker;
    this.#buffers = parts.buffers;
    this.#windows = parts.windows;
    this.#passes = parts.passes;
    this.#timestamps = parts.timestamps;
    this.#lost = ctx.lost.then((message) => {
      throw new GpuForwardError(`GPU device lost: ${message}`);
    });
    this.#lost.catch(() => {});
  }

  /**
   * Whether a point fits this device: shape requirements of the kernels, buffer and binding
   * limits, dispatch sizes and the memory budget. Allocates nothing.
   */
  static preflight(
    ctx: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options: GpuAttentionOptions = {},
  ): Preflight {
    const { plan, reason } = _planFor(ctx, variant, shape, options);
    const bytesNeeded = plan?.bytesNeeded ?? 0;
    if (reason === null) return { fits: true, bytesNeeded };
    return { fits: false, reason, bytesNeeded, bytesAllowed: ctx.memoryBudgetBytes ?? Infinity };
  }

  /**
   * Build pipelines, buffers and bind groups.
   *
   * @throws {GpuPreflightError} when the preflight rejects the point
   * @throws {KernelBuildError} when a kernel does not compile (with the compiler's message)
   * @throws {GpuForwardError} when an allocation fails (out of memory) or is invalid
   */
  static async create(
    ctx: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options: GpuAttentionOptions = {},
  ): Promise<GpuAttention> {
    const device = ctx.device;
    const { plan, reason, tuning } = _planFor(ctx, variant, shape, options);
    if (reason !== null) throw new GpuPreflightError(reason);
    const pipelines = await _buildPipelines(device, plan, shape);
    const tracker = new BufferTracker(device);
    if (tuning === "software") {
      for (const [key, pipeline] of pipelines) {
        if (key.startsWith('["softmax"')) await primeSoftmax(device, pipeline, tracker);
      }
    }
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const buffers = new Map<BufferName, GPUBuffer>();
    for (const b of plan.buffers) {
      buffers.set(
        b.name,
        tracker.create(b.bufferClass, { label: b.name, size: b.size, usage: b.usage }),
      );
    }
    const windows = plan.windows.map((w, index) =>
      tracker.create("scores", {
        label:
          `scores window ${index}: slabs ${w.firstSlab}+${w.slabs}, rows ${w.firstRow}+${w.rows}`,
        size: w.bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      })
    );
    const timestamps = new StageTimestamps(device, tracker, plan.stages.length, ctx.hasTimestamps);
    const passes = _encodePasses(
      device,
      plan,
      pipelines,
      (name) => typeof name === "string" ? buffers.get(name)! : windows[name.window]!,
    );
    // both popped before awaiting: the scopes hold this allocation and nothing else
    const scopes = [device.popErrorScope(), device.popErrorScope()];
    const [validationError = null, memoryError = null] = await Promise.all(scopes);
    const error = memoryError ?? validationError;
    if (error !== null) {
      timestamps.destroy();
      tracker.destroyAll();
      const kind = memoryError ? "out of GPU memory" : "invalid GPU setup";
      throw new GpuForwardError(
        `${kind} for ${variant} at n=${shape.seqLen} (${
          formatGib(plan.bytesNeeded)
        }): ${error.message}`,
      );
    }
    return new GpuAttention(ctx, variant, shape, plan, {
      tracker,
      buffers,
      windows,
      passes,
      timestamps,
    });
  }

  /**
   * The buffers a backward reads from its forward: x and, as the last forward left them, q, k, v,
   * the concatenated heads, the fused variant's log-sum-exp and the naive variant's probability
   * windows (src/gpu/gpu_backward.ts
   * binds them instead of copies).
   */
  keptBuffers(): KeptBuffers {
    this.#checkAlive();
    const buffer = (name: KeptBufferName) => this.#buffers.get(name)!;
    return {
      x: buffer("x"),
      q: buffer("q"),
      k: buffer("k"),
      v: buffer("v"),
      concat: buffer("concat"),
      ...(this.#buffers.has("lse") ? { lse: this.#buffers.get("lse") } : {}),
      windows: [...this.#windows],
      scoreWindows: this.#plan.windows,
    };
  }

  /** Element type of the storage buffers. */
  get precision(): Precision {
    return this.#plan.precision;
  }

  /** The score windows of the naive variant (empty for fused): heads, rows and bytes of each. */
  get scoreWindows(): readonly Readonly<ScoreWindow>[] {
    return this.#plan.windows;
  }

  /** Upload inputs and weights; milliseconds from the first write until the queue is done. */
  async upload(inputs: AttentionInputs): Promise<number> {
    this.#checkAlive();
    const d = this.shape.dModel;
    const expected = JSON.stringify(resolveShape(this.shape));
    if (JSON.stringify(resolveShape(inputs.shape)) !== expected) {
      throw new RangeError(`inputs of shape ${JSON.stringify(inputs.shape)} for ${expected}`);
    }
    const { wQ, wK, wV, bQ, bK, bV, wO, bO } = inputs.weights;
    // w_q | w_k | w_v side by side: row k of wQkv is [w_q[k, :], w_k[k, :], w_v[k, :]], the
    // last two kv_heads·d_k wide
    const kvW = kvWidth(this.shape);
    const cols = d + 2 * kvW;
    const wQkv = new Float32Array(d * cols);
    for (let row = 0; row < d; row++) {
      wQkv.set(wQ.subarray(row * d, (row + 1) * d), row * cols);
      wQkv.set(wK.subarray(row * kvW, (row + 1) * kvW), row * cols + d);
      wQkv.set(wV.subarray(row * kvW, (row + 1) * kvW), row * cols + d + kvW);
    }
    const bQkv = new Float32Array(cols);
    bQkv.set(bQ, 0);
    bQkv.set(bK, d);
    bQkv.set(bV, d + kvW);
    // f16: rounded to nearest on the host (Float16Array), before the timed upload
    const stored = (values: Float32Array): Float32Array | Float16Array =>
      this.#plan.precision === "f16" ? new Float16Array(values) : values;
    const panelCols = this.#plan.weightPanelCols;
    const laidOut = (matrix: Float32Array, width: number) =>
      panelCols ? packWeightPanels(matrix, d, width, panelCols) : matrix;
    const data = [
      ["x", stored(inputs.x)],
      ["wQkv", stored(laidOut(wQkv, cols))],
      ["bQkv", stored(bQkv)],
      ["wO", stored(laidOut(wO, d))],
      ["bO", stored(bO)],
    ] as const;
    const queue = this.#ctx.device.queue;
    const start = performance.now();
    for (const [name, values] of data) queue.writeBuffer(this.#buffers.get(name)!, 0, values);
    await this.#done();
    return performance.now() - start;
  }

  /**
   * Fill every buffer a forward writes (q, k, v, scores, concatenated heads, output) with NaN, so
   * that an element a kernel fails to write shows up in the output instead of a stale value.
   */
  async poison(): Promise<void> {
    this.#checkAlive();
    const queue = this.#ctx.device.queue;
    const targets = [
      ...(["q", "k", "v", "concat", "out"] as const).map((name) => this.#buffers.get(name)!),
      ...this.#windows,
    ];
    // all bits set: a NaN in f32 and in f16 alike
    const chunk = new Uint8Array(1 << 22).fill(0xff);
    for (const buffer of targets) {
      for (let offset = 0; offset < buffer.size; offset += chunk.byteLength) {
        const bytes = Math.min(chunk.byteLength, buffer.size - offset);
        queue.writeBuffer(buffer, offset, chunk, 0, bytes);
      }
    }
    await this.#done();
  }

  /**
   * One forward: every stage encoded into one command buffer, one submission. `wallMs` spans the
   * submit until the queue reports the work done; `stageMs` are the passes' timestamp spans (null
   * without timestamps), so their sum never exceeds `wallMs`; `stageStartMs` each pass's begin
   * after the first pass's (null without timestamps, or when the passes span more than `wallMs`).
   *
   * @throws {GpuForwardError} on a validation error or a lost device
   */
  async forward(): Promise<ForwardTiming> {
    return await this.#run(this.#passes.map((_, stage) => stage));
  }

  /**
   * Run only some stages (benchmarks of one kernel), encoded and submitted as `forward()` does;
   * `stageMs` in the order of `stages`. The output is meaningful only after a full forward.
   */
  async forwardStages(
    stages: readonly number[],
  ): Promise<ForwardTiming> {
    for (const stage of stages) {
      if (!(stage >= 0 && stage < this.#passes.length)) throw new RangeError(`no stage ${stage}`);
    }
    return await this.#run(stages);
  }

  async #run(stages: readonly number[]): Promise<ForwardTiming> {
    this.#checkAlive();
    const device = this.#ctx.device;
    this.#tracker.resetPeak();
    device.pushErrorScope("validation");
    const encoder = device.createCommandEncoder({ label: `${this.variant} forward` });
    for (const stage of stages) {
      const pass = encoder.beginComputePass({
        label: this.stageNames[stage],
        timestampWrites: this.#timestamps.passTimestampWrites(stage),
      });
      for (const { pipeline, bindGroup, grid } of this.#passes[stage]!) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(grid[0]!, grid[1]!, grid[2]!);
      }
      pass.end();
    }
    this.#timestamps.resolve(encoder);
    const commands = encoder.finish();
    const start = performance.now();
    device.queue.submit([commands]);
    // popped before awaiting anything: the scope holds this encoding and submission only
    const scope = device.popErrorScope();
    await this.#done();
    const wallMs = performance.now() - start;
    const error = await scope;
    if (error !== null) {
      throw new GpuForwardError(
        `${this.variant} forward at n=${this.shape.seqLen}: ${error.message}`,
      );
    }
    this.#lastPeak = {
      peakBytes: this.#tracker.peakBytes,
      peakBytesByClass: this.#tracker.peakBytesByClass,
    };
    const spans = await this.#timestamps.readSpans(stages);
    // spans that do not fit inside the wall span cannot be nanoseconds of this submission
    // (a driver whose ticks are not normalised): dropped, not reported
    if (spans === null || spans.stageMs.reduce((sum, ms) => sum + ms, 0) > wallMs) {
      return { wallMs, stageMs: null, stageStartMs: null, startMs: start };
    }
    const lastEndMs = Math.max(...spans.startMs.map((startMs, i) => startMs + spans.stageMs[i]!));
    return {
      wallMs,
      stageMs: spans.stageMs,
      stageStartMs: lastEndMs <= wallMs ? spans.startMs : null,
      startMs: start,
    };
  }

  /**
   * Copy the output [batch·n, d_model] back, as f32 whatever the precision; milliseconds of the copy and
   * map (and the f16 → f32 conversion), apart from the forward.
   */
  async readback(): Promise<{ out: Float32Array; readbackMs: number }> {
    this.#checkAlive();
    const device = this.#ctx.device;
    const out = this.#buffers.get("out")!;
    const start = performance.now();
    const staging = this.#tracker.create("staging", {
      label: "output readback",
      size: out.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: "output readback" });
      encoder.copyBufferToBuffer(out, 0, staging, 0, out.size);
      device.queue.submit([encoder.finish()]);
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.#lost]);
      const mapped = staging.getMappedRange().slice(0);
      const result = this.#plan.precision === "f16"
        ? Float32Array.from(new Float16Array(mapped))
        : new Float32Array(mapped);
      staging.unmap();
      return { out: result, readbackMs: performance.now() - start };
    } finally {
      this.#tracker.destroy(staging);
    }
  }

  /**
   * The exact peak of live GPU buffer bytes during the last forward, by class (before any forward:
   * the bytes live now).
   */
  memory(): { peakBytes: number; peakBytesByClass: Record<string, number> } {
    if (this.#lastPeak !== null) {
      return { ...this.#lastPeak, peakBytesByClass: { ...this.#lastPeak.peakBytesByClass } };
    }
    return { peakBytes: this.#tracker.liveBytes, peakBytesByClass: this.#tracker.liveBytesByClass };
  }

  /** Free every buffer (the device stays open: it belongs to the GpuContext). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#timestamps.destroy();
    this.#tracker.destroyAll();
  }

  #checkAlive(): void {
    if (this.#destroyed) throw new GpuForwardError("this GpuAttention was destroyed");
  }

  async #done(): Promise<void> {
    await Promise.race([this.#ctx.device.queue.onSubmittedWorkDone(), this.#lost]);
  }
}
