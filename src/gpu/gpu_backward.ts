/**
 * The fused backward on the GPU: the gradients of L = Σ(out ⊙ dOut) with respect to x and every
 * weight and bias, from what a fused forward keeps (x, q, k, v, the heads' output concat and each
 * row's log-sum-exp), in O(n) memory. Five stages, one compute pass each:
 *
 * 1. `output_projection_backward`: dConcat = dOut·w_oᵀ (projection kernel), dW_o = concatᵀ·dOut
 *    (weight_gradient), db_o = Σ_rows dOut (column_sums);
 * 2. `backward_row_dot`, 3. `flash_backward_kv`, 4. `flash_backward_q`: dQ, dK, dV
 *    (src/gpu/flash_backward.ts), side by side in `grads` [N, w3];
 * 5. `projection_qkv_backward`: dx = grads·wCatᵀ with wCat = [w_q|w_k|w_v], [dW_q|dW_k|dW_v] =
 *    xᵀ·grads, [db_q|db_k|db_v] = Σ_rows grads.
 *
 * wOᵀ and wCatᵀ are laid out on the host with the weights (as the forward lays out its weights),
 * not in the timed backward. One backward is one submission with timestamps per stage; every
 * buffer goes through one BufferTracker.
 *
 * @module
 */

import { type AttentionGradients, splitQkvGradients } from "../gradients.ts";
import { type AttentionInputs, type AttentionShape, kvWidth, resolveShape } from "../shape.ts";
import { BufferTracker } from "./buffer_tracker.ts";
import type { GpuContext } from "./device.ts";
import { GpuAttention, type KeptBuffers, type Preflight, tuningOf } from "./gpu_attention.ts";
import { NaiveBackward, type NaiveBackwardBuffers } from "./naive_backward.ts";
import { FlashBackward, type FlashBackwardBuffers } from "./flash_backward.ts";
import {
  colVecsPerWorkgroup,
  createComputePipeline,
  type KernelParameters,
  kernelPipeline,
  KERNELS,
  type Precision,
  PRECISION_BYTES,
  PRECISION_PRELUDES,
  rowsPerWorkgroup,
  type TuningName,
  TUNINGS,
} from "./kernels.ts";
import { formatGib } from "./plan.ts";
import { StageTimestamps } from "./timestamps.ts";
import { packWeightPanels, weightPanelsLength } from "./weight_panels.ts";
import { expandWgslTemplate } from "./wgsl_template.ts";
import { type VariantName, VARIANTS } from "../variants/registry.ts";
import weightGradientWgsl from "../../kernels/weight_gradient.wgsl" with { type: "text" };
import columnSumsWgsl from "../../kernels/column_sums.wgsl" with { type: "text" };

/** What a forward keeps for the backward, f32, in the forward's layouts (tests upload these). */
export interface ForwardActivations {
  /** [N, dModel] */
  q: Float32Array;
  /** [N, kvHeads·dK] */
  k: Float32Array;
  v: Float32Array;
  /** [N, dModel] */
  concat: Float32Array;
  /** f32 [batch, heads, n]: each row's log-sum-exp of its scaled scores (the fused backward's) */
  lse: Float32Array;
}

/** Register blocks of weight_gradient on a software adapter: 16×32 outputs per invocation. */
const WEIGHT_GRADIENT: KernelParameters = {
  workgroupSize: 8,
  template: { ROW_BLOCKS: 4, COL_BLOCKS: 8 },
};

type Name =
  | "x"
  | "q"
  | "k"
  | "v"
  | "concat"
  | "lse"
  | "wOT"
  | "wCatT"
  | "zeros"
  | "dOut"
  | "dConcat"
  | "rowDot"
  | "grads"
  | "dx"
  | "dWo"
  | "dbO"
  | "dWCat"
  | "dbCat";

/** One dispatch: pipeline, bindings 1… (by buffer name), uniform words, grid. */
interface Step {
  pipeline: GPUComputePipeline;
  bindings: Name[];
  params: number[];
  grid: [number, number, number];
}

/** Uniform slots are this many bytes apart (WebGPU's largest minUniformBufferOffsetAlignment). */
const PARAMS_STRIDE = 256;

/** The backward of one variant and shape: buffers, pipelines and its stages. */
export class GpuBackward {
  readonly shape: AttentionShape;
  readonly precision: Precision;
  readonly stageNames: readonly string[];
  readonly #ctx: GpuContext;
  readonly #tracker: BufferTracker;
  readonly #buffers: Record<Name, GPUBuffer>;
  readonly #stages: ((pass: GPUComputePassEncoder) => void)[];
  readonly #timestamps: StageTimestamps;
  readonly #weightPanelCols: number | null;
  #lastPeak: { peakBytes: number; peakBytesByClass: Record<string, number> } | null = null;

  private constructor(
    ctx: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    precision: Precision,
    parts: {
      tracker: BufferTracker;
      buffers: Record<Name, GPUBuffer>;
      stages: ((pass: GPUComputePassEncoder) => void)[];
      timestamps: StageTimestamps;
      weightPanelCols: number | null;
    },
  ) {
    this.#ctx = ctx;
    this.shape = shape;
    this.precision = precision;
    this.stageNames = VARIANTS[variant].backwardStages ?? [];
    this.#tracker = parts.tracker;
    this.#buffers = parts.buffers;
    this.#stages = parts.stages;
    this.#timestamps = parts.timestamps;
    this.#weightPanelCols = parts.weightPanelCols;
  }

  /**
   * Build pipelines and buffers of a variant's backward (d_k and kvHeads·d_k multiples of 4). The
   * naive backward needs a naive forward's buffers: its score windows hold P.
   */
  static async create(
    ctx: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options: {
      precision?: Precision;
      tuning?: TuningName;
      /** a forward's buffers, bound as they are (not copied, not counted here) */
      forward?: KeptBuffers;
    } = {},
  ): Promise<GpuBackward> {
    const device = ctx.device, precision = options.precision ?? "f32";
    const projection = _projectionParameters(ctx, options.tuning);
    const weightPanelCols = _weightPanelCols(projection);
    const tracker = new BufferTracker(device);
    const { windows: _, scoreWindows: __, ...borrowed } = options.forward ?? {};
    const buffers = _createBuffers(
      tracker,
      { variant, shape, precision, weightPanelCols },
      borrowed,
    );
    const [encodeOutput, encodeInput] = await _projectionStages(
      { device, tracker, buffers },
      shape,
      precision,
      projection,
    );
    const middle = await _attentionStages(
      { device, tracker, buffers },
      { variant, shape, precision, forward: options.forward },
    );
    const stages = [encodeOutput, ...middle, encodeInput];
    const timestamps = new StageTimestamps(device, tracker, stages.length, ctx.hasTimestamps);
    return new GpuBackward(ctx, variant, shape, precision, {
      tracker,
      buffers,
      stages,
      timestamps,
      weightPanelCols,
    });
  }

  /**
   * Upload the weights (wOᵀ and wCatᵀ laid out for the projection kernel) and dOut; and x and
   * what a forward keeps, unless a forward's buffers are bound (`kept` absent).
   */
  async upload(inputs: AttentionInputs, dOut: Float32Array, kept?: ForwardActivations) {
    const s = resolveShape(this.shape), d = s.dModel, kvw = kvWidth(s), w3 = d + 2 * kvw;
    const w = inputs.weights;
    const wCatT = new Float32Array(w3 * d); // row c of wCatᵀ is column c of [w_q|w_k|w_v]
    const parts: [Float32Array, number, number][] = [[w.wQ, d, 0], [w.wK, kvw, d], [
      w.wV,
      kvw,
      d + kvw,
    ]];
    for (const [weight, width, first] of parts) {
      for (let r = 0; r < d; r++) {
        for (let c = 0; c < width; c++) wCatT[(first + c) * d + r] = weight[r * width + c]!;
      }
    }
    const wOT = new Float32Array(d * d);
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) wOT[c * d + r] = w.wO[r * d + c]!;
    const laidOut = (matrix: Float32Array, inner: number) =>
      this.#weightPanelCols ? packWeightPanels(matrix, inner, d, this.#weightPanelCols) : matrix;
    const stored = (values: Float32Array): Float32Array | Float16Array =>
      this.precision === "f16" ? new Float16Array(values) : values;
    const data: [Name, Float32Array][] = [
      ["wOT", laidOut(wOT, d)],
      ["wCatT", laidOut(wCatT, w3)],
      ["dOut", dOut],
    ];
    if (kept) {
      data.push(["x", inputs.x], ["q", kept.q], ["k", kept.k], ["v", kept.v], [
        "concat",
        kept.concat,
      ]);
    }
    const queue = this.#ctx.device.queue;
    for (const [name, values] of data) queue.writeBuffer(this.#buffers[name], 0, stored(values));
    // the log-sum-exp is f32 at any precision; only the fused backward has its buffer
    if (kept && this.#buffers.lse) queue.writeBuffer(this.#buffers.lse, 0, kept.lse);
    await queue.onSubmittedWorkDone();
  }

  /**
   * One backward: one submission; wall time from the submission (`startMs`, performance.now())
   * and the stages' timestamp spans (or null).
   */
  async backward(): Promise<{ wallMs: number; stageMs: number[] | null; startMs: number }> {
    const device = this.#ctx.device;
    this.#tracker.resetPeak();
    device.pushErrorScope("validation");
    const encoder = device.createCommandEncoder({ label: "backward" });
    this.#stages.forEach((encode, stage) => {
      const pass = encoder.beginComputePass({
        label: this.stageNames[stage],
        timestampWrites: this.#timestamps.passTimestampWrites(stage),
      });
      encode(pass);
      pass.end();
    });
    this.#timestamps.resolve(encoder);
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    const scope = device.popErrorScope();
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - start;
    const error = await scope;
    if (error !== null) throw new Error(`GPU backward: ${error.message}`);
    this.#lastPeak = {
      peakBytes: this.#tracker.peakBytes,
      peakBytesByClass: this.#tracker.peakBytesByClass,
    };
    return { wallMs, stageMs: await this.#timestamps.read(), startMs: start };
  }

  /** Copy every gradient back, as f32, each in its tensor's shape. */
  async readGradients(): Promise<AttentionGradients> {
    const s = resolveShape(this.shape), d = s.dModel, kvw = kvWidth(s);
    const read = async (name: Name) => {
      const buffer = this.#buffers[name];
      const staging = this.#tracker.create("staging", {
        size: buffer.size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const encoder = this.#ctx.device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
      this.#ctx.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = staging.getMappedRange().slice(0);
      this.#tracker.destroy(staging);
      return this.precision === "f16"
        ? Float32Array.from(new Float16Array(bytes))
        : new Float32Array(bytes);
    };
    return splitQkvGradients(
      {
        x: (await read("dx")).subarray(0, s.batch * s.seqLen * d),
        wQkv: await read("dWCat"),
        bQkv: await read("dbCat"),
        wO: (await read("dWo")).subarray(0, d * d),
        bO: (await read("dbO")).subarray(0, d),
      },
      d,
      kvw,
    );
  }

  /** Exact peak of live GPU bytes during the last backward, by class. */
  memory(): { peakBytes: number; peakBytesByClass: Record<string, number> } {
    return this.#lastPeak ??
      { peakBytes: this.#tracker.liveBytes, peakBytesByClass: this.#tracker.liveBytesByClass };
  }

  /** Free every buffer. */
  destroy(): void {
    this.#timestamps.destroy();
    this.#tracker.destroyAll();
  }
}

/** The projection kernel's parameters a backward uses (default tuning: the adapter's kind). */
function _projectionParameters(ctx: GpuContext, tuning?: TuningName): KernelParameters {
  return ctx.kernelParameters?.projection ?? TUNINGS[tuningOf(ctx, { tuning })].projection;
}

/** Columns per weight panel of the register layout, or null: row-major weights. */
function _weightPanelCols(projection: KernelParameters): number | null {
  return (projection.layout ?? "registers") === "registers"
    ? 4 * projection.template.COL_BLOCKS!
    : null;
}

/** What sizes a backward's buffers. */
interface BufferRequest {
  variant: VariantName;
  shape: AttentionShape;
  precision: Precision;
  weightPanelCols: number | null;
}

/** The buffers a forward keeps and a backward binds when given them (KeptBuffers). */
const KEPT_BY_FORWARD: ReadonlySet<Name> = new Set(["x", "q", "k", "v", "concat", "lse"]);

/**
 * Every buffer of the backward of a variant: name, class and bytes (the log-sum-exp is the fused
 * backward's alone: the naive one reads its forward's P).
 */
function _bufferSizes(
  request: BufferRequest,
): { name: Name; bufferClass: "weights" | "activations"; bytes: number }[] {
  const { variant, shape, precision, weightPanelCols } = request;
  const s = resolveShape(shape), rows = s.batch * s.seqLen, d = s.dModel, kvw = kvWidth(s);
  const w3 = d + 2 * kvw, stats = s.batch * s.heads * s.seqLen, bytes = PRECISION_BYTES[precision];
  const panelled = (inner: number) =>
    weightPanelCols ? weightPanelsLength(inner, d, weightPanelCols) : inner * d;
  const sizes: [Name, number, "weights" | "activations", number?][] = [
    ["x", rows * d, "activations"],
    ["q", rows * d, "activations"],
    ["k", rows * kvw, "activations"],
    ["v", rows * kvw, "activations"],
    ["concat", rows * d, "activations"],
    ["lse", stats, "activations", 4],
    ["wOT", panelled(d), "weights"],
    ["wCatT", panelled(w3), "weights"],
    ["zeros", w3, "weights"],
    ["dOut", rows * d, "activations"],
    ["dConcat", rows * d, "activations"],
    ["rowDot", stats, "activations", 4],
    ["grads", rows * w3, "activations"],
    ["dx", rows * d, "activations"],
    ["dWo", d * d, "weights"],
    ["dbO", d, "weights"],
    ["dWCat", d * w3, "weights"],
    ["dbCat", w3, "weights"],
  ];
  return sizes.filter(([name]) => name !== "lse" || variant === "fused").map((
    [name, elements, bufferClass, elementBytes = bytes],
  ) => ({
    name,
    bufferClass,
    bytes: Math.max(16, Math.ceil((elements * elementBytes) / 16) * 16),
  }));
}

/** Every buffer of the backward, by name, at its class; the borrowed ones as they are. */
function _createBuffers(
  tracker: BufferTracker,
  request: BufferRequest,
  borrowed: Partial<Record<Name, GPUBuffer>> = {},
): Record<Name, GPUBuffer> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffers = { ...borrowed } as Record<Name, GPUBuffer>;
  for (const { name, bufferClass, bytes } of _bufferSizes(request)) {
    if (name in borrowed) continue;
    buffers[name] = tracker.create(bufferClass, { label: name, size: bytes, usage });
  }
  return buffers;
}

/** dS score matrices a variant's backward holds per P its forward keeps (naive: dS beside P). */
const BACKWARD_SCORE_COPIES: Record<VariantName, number> = { naive: 1, fused: 0, linear: 0 };

/**
 * Whether a variant's backward at a shape fits the GPU budget together with its forward: the
 * forward's plan (GpuAttention.preflight) plus the backward's own buffers — gradients, dOut and
 * its copies, laid-out weights and, for the naive variant, dS as large as its forward's P.
 */
export function preflightBackward(
  ctx: GpuContext,
  variant: VariantName,
  shape: AttentionShape,
  options: { precision?: Precision; tuning?: TuningName } = {},
): Preflight {
  const forward = GpuAttention.preflight(ctx, variant, shape, options);
  if (!forward.fits) return forward;
  const precision = options.precision ?? "f32";
  const weightPanelCols = _weightPanelCols(_projectionParameters(ctx, options.tuning));
  const own = _bufferSizes({ variant, shape, precision, weightPanelCols })
    .filter(({ name }) => !KEPT_BY_FORWARD.has(name))
    .reduce((sum, { bytes }) => sum + bytes, 0);
  const scores = BACKWARD_SCORE_COPIES[variant] * PRECISION_BYTES[precision] *
    VARIANTS[variant].storedScores(resolveShape(shape));
  const bytesNeeded = forward.bytesNeeded + own + scores;
  const bytesAllowed = ctx.memoryBudgetBytes ?? Infinity;
  if (bytesNeeded <= bytesAllowed) return { fits: true, bytesNeeded };
  return {
    fits: false,
    reason: `the backward needs ${formatGib(bytesNeeded)} of GPU buffers with its forward's, ` +
      `more than the ${formatGib(bytesAllowed)} allowed`,
    bytesNeeded,
    bytesAllowed,
  };
}

/** Why a variant's GPU backward does not run a configuration (it has none), or null. */
export function backwardUnsupported(variant: VariantName, _shape: AttentionShape): string | null {
  return VARIANTS[variant].backwardStages === null
    ? `the ${variant} variant has no backward`
    : null;
}

/** What the stage builders share: the device, the tracker and the backward's buffers. */
interface Setup {
  device: GPUDevice;
  tracker: BufferTracker;
  buffers: Record<Name, GPUBuffer>;
}

/** A stage: its dispatches, recorded into its compute pass. */
type EncodeStage = (pass: GPUComputePassEncoder) => void;

/** The first and last stages: the output projection's backward, the input projections'. */
async function _projectionStages(
  setup: Setup,
  shape: AttentionShape,
  precision: Precision,
  projection: KernelParameters,
): Promise<[EncodeStage, EncodeStage]> {
  const { device, tracker, buffers } = setup;
  const steps = await _projectionSteps(device, shape, precision, projection);
  const stepParams = steps.flat();
  const params = tracker.create("activations", {
    label: "backward params",
    size: Math.max(1, stepParams.length) * PARAMS_STRIDE,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const words = new Uint32Array(stepParams.length * PARAMS_STRIDE / 4);
  stepParams.forEach((step, slot) => words.set(step.params, slot * PARAMS_STRIDE / 4));
  device.queue.writeBuffer(params, 0, words);
  const bindGroups = stepParams.map((step, slot) =>
    device.createBindGroup({
      layout: step.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params, offset: slot * PARAMS_STRIDE, size: 32 } },
        ...step.bindings.map((name, i) => ({
          binding: i + 1,
          resource: { buffer: buffers[name] },
        })),
      ],
    })
  );
  const encodeSteps = (first: number, count: number) => (pass: GPUComputePassEncoder) => {
    for (let slot = first; slot < first + count; slot++) {
      pass.setPipeline(stepParams[slot]!.pipeline);
      pass.setBindGroup(0, bindGroups[slot]!);
      pass.dispatchWorkgroups(...stepParams[slot]!.grid);
    }
  };
  const outputCount = steps[0]!.length;
  return [encodeSteps(0, outputCount), encodeSteps(outputCount, steps[1]!.length)];
}

/**
 * The attention stages between them: the fused variant's flash kernels (row_dot, kv, q), or
 * the naive variant's row_dot then its window kernels (ds, dq, dkdv) on the forward's P.
 */
async function _attentionStages(
  setup: Setup,
  request: {
    variant: VariantName;
    shape: AttentionShape;
    precision: Precision;
    forward?: KeptBuffers;
  },
): Promise<EncodeStage[]> {
  const { device, tracker, buffers } = setup;
  const { variant, shape, precision } = request;
  const createBuffer = (descriptor: GPUBufferDescriptor) =>
    tracker.create("activations", descriptor);
  const flashBuffers: FlashBackwardBuffers = {
    q: buffers.q,
    k: buffers.k,
    v: buffers.v,
    o: buffers.concat,
    dO: buffers.dConcat,
    lse: buffers.lse,
    rowDot: buffers.rowDot,
    grads: buffers.grads,
  };
  if (variant === "fused") {
    const flash = await FlashBackward.create(device, shape, { precision, createBuffer });
    return FlashBackward.KERNEL_NAMES.map((kernel) => (pass) =>
      flash.dispatch(pass, kernel, flashBuffers)
    );
  }
  const windows = request.forward?.scoreWindows, probabilities = request.forward?.windows;
  if (variant !== "naive" || !windows || !probabilities) {
    throw new RangeError(`no GPU backward for variant ${variant} (naive needs its forward's P)`);
  }
  const flash = await FlashBackward.create(device, shape, {
    precision,
    createBuffer,
    kernels: ["row_dot"],
  });
  const naive = await NaiveBackward.create(device, shape, windows, { precision, createBuffer });
  const dScores = windows.map((w, index) =>
    tracker.create("scores", {
      label: `dS window ${index}`,
      size: w.bytes,
      usage: GPUBufferUsage.STORAGE,
    })
  );
  const naiveBuffers: NaiveBackwardBuffers = {
    ...flashBuffers,
    probabilities,
    dScores,
  };
  return [
    (pass) => flash.dispatch(pass, "row_dot", flashBuffers),
    ...NaiveBackward.KERNEL_NAMES.map((kernel) => (pass: GPUComputePassEncoder) =>
      naive.dispatch(pass, kernel, naiveBuffers)
    ),
  ];
}

/** The projection stages' dispatches: [output projection's backward, input projections']. */
async function _projectionSteps(
  device: GPUDevice,
  shape: AttentionShape,
  precision: Precision,
  projection: KernelParameters,
): Promise<Step[][]> {
  const s = resolveShape(shape), rows = s.batch * s.seqLen, d = s.dModel;
  const w3 = d + 2 * kvWidth(s);
  const prelude = PRECISION_PRELUDES[precision];
  const build = (label: string, source: string, parameters: KernelParameters) =>
    createComputePipeline(device, {
      label: `${label} ${precision} ${JSON.stringify(parameters.template)}`,
      code: prelude + expandWgslTemplate(source, parameters.template),
      entryPoint: "main",
      constants: { WORKGROUP_SIZE: parameters.workgroupSize },
    });
  const sums: KernelParameters = { workgroupSize: 8, template: {} };
  const [project, weightGradient, columnSums] = await Promise.all([
    kernelPipeline(device, KERNELS.projection, projection, {}, precision),
    build("weight_gradient", weightGradientWgsl, WEIGHT_GRADIENT),
    build("column_sums", columnSumsWgsl, sums),
  ]);
  const projectionStep = (a: Name, inner: number, b: Name, out: Name): Step => ({
    pipeline: project,
    bindings: [a, b, "zeros", out, out, out],
    params: [rows, inner, d, d, 0], // projection_common.wgsl's Params: one part of d columns
    grid: [
      Math.ceil(d / 4 / colVecsPerWorkgroup(projection)),
      Math.ceil(rows / rowsPerWorkgroup(projection)),
      1,
    ],
  });
  const gradientStep = (a: Name, aCols: number, b: Name, bCols: number, out: Name): Step => ({
    pipeline: weightGradient,
    bindings: [a, b, out],
    params: [rows, aCols, bCols],
    grid: [
      Math.ceil(bCols / 4 / WEIGHT_GRADIENT.template.COL_BLOCKS!),
      Math.ceil(aCols / (rowsPerWorkgroup(WEIGHT_GRADIENT))),
      1,
    ],
  });
  const sumStep = (m: Name, cols: number, out: Name): Step => ({
    pipeline: columnSums,
    bindings: [m, out],
    params: [rows, cols],
    grid: [Math.ceil(cols / 4 / sums.workgroupSize), 1, 1],
  });
  return [
    [
      projectionStep("dOut", d, "wOT", "dConcat"),
      gradientStep("concat", d, "dOut", d, "dWo"),
      sumStep("dOut", d, "dbO"),
    ],
    [
      projectionStep("grads", w3, "wCatT", "dx"),
      gradientStep("x", d, "grads", w3, "dWCat"),
      sumStep("grads", w3, "dbCat"),
    ],
  ];
}
