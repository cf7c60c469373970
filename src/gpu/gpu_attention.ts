/**
 * Multi-head self-attention on the GPU, in two variants:
 *
 * - `naive`: five stages — Q|K|V projection (one dispatch), scores, softmax, weighted values,
 *   output projection — materialising every head's n×n score matrix (O(n²) memory). The scores are
 *   spread over as many buffers as needed, each within `maxStorageBufferBindingSize`: a window
 *   holds several whole heads, or a range of query rows of one head.
 * - `fused`: projection, one flash-attention kernel (online softmax over key blocks, O(n) memory),
 *   output projection.
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

import type { VariantName } from "../config.ts";
import type { AttentionInputs, AttentionShape } from "../shape.ts";
import { type BufferClass, BufferTracker } from "./buffer_tracker.ts";
import type { GpuContext } from "./device.ts";
import {
  colVecsPerWorkgroup,
  type KernelId,
  type KernelParameters,
  kernelPipeline,
  KERNELS,
  type Precision,
  PRECISION_BYTES,
  rowsPerWorkgroup,
  tileSizesProblem,
  type TuningName,
  TUNINGS,
  workgroupStorageBytes,
} from "./kernels.ts";
import { StageTimestamps } from "./timestamps.ts";
import { packWeightPanels, weightPanelsLength } from "./weight_panels.ts";

/** Whether a point fits the device, with the bytes it needs (and, when not, why). */
export type Preflight =
  | { fits: true; bytesNeeded: number }
  | { fits: false; reason: string; bytesNeeded: number; bytesAllowed: number };

/** The stages of each variant, in order: one compute pass (and one timestamp pair) each. */
export const STAGE_NAMES: Readonly<Record<VariantName, readonly string[]>> = {
  naive: ["projection_qkv", "scores", "softmax", "weighted_values", "output_projection"],
  fused: ["projection_qkv", "flash_attention", "output_projection"],
};

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

/**
 * The widest head the fused kernel takes: it unrolls d_k / 4 vec4 registers per query row, and
 * lavapipe's compile time grows steeply with them (d_k = 64: seconds; 128: ~2 min; 512: > 4 min).
 */
export const MAX_FUSED_HEAD_WIDTH = 128;

/** The preflight's reason when f16 is asked of a device without "shader-f16". */
export const NO_SHADER_F16 = "adapter has no shader-f16";

/** A GPU error while running a forward (validation error, lost device). */
export class GpuForwardError extends Error {
  override name = "GpuForwardError";
}

/** A point that the preflight rejected was created anyway. */
export class GpuPreflightError extends Error {
  override name = "GpuPreflightError";
}

/** The device limits the plan depends on (a subset of GPUSupportedLimits). */
type PlanLimits = Pick<
  GPUSupportedLimits,
  | "maxStorageBufferBindingSize"
  | "maxBufferSize"
  | "maxComputeWorkgroupsPerDimension"
  | "maxComputeInvocationsPerWorkgroup"
  | "maxComputeWorkgroupSizeX"
  | "maxComputeWorkgroupStorageSize"
  | "minUniformBufferOffsetAlignment"
>;

/** Rows [firstRow, firstRow + rows) of heads [firstHead, firstHead + heads) of the score matrix. */
interface ScoreWindow {
  firstHead: number;
  heads: number;
  firstRow: number;
  rows: number;
  bytes: number;
}

interface BufferPlan {
  name: BufferName;
  bufferClass: BufferClass;
  size: number;
  usage: number;
}

type BufferName =
  | "wQkv"
  | "bQkv"
  | "wO"
  | "bO"
  | "x"
  | "q"
  | "k"
  | "v"
  | "concat"
  | "out"
  | "params";

interface Dispatch {
  kernel: "projection" | "scores" | "softmax" | "weighted_values" | "flash_attention";
  parameters: KernelParameters;
  /** uniform parameters: u32 values, or f32 where given as { f32 } */
  params: (number | { f32: number })[];
  /** storage bindings 1… in order: a persistent buffer's name, or a score window's index */
  bindings: (BufferName | { window: number })[];
  grid: [number, number, number];
}

interface Plan {
  tuning: TuningName;
  precision: Precision;
  kernels: Readonly<Record<KernelId, KernelParameters>>;
  nPad: number;
  windows: ScoreWindow[];
  buffers: BufferPlan[];
  /** per stage, its dispatches */
  stages: Dispatch[][];
  bytesNeeded: number;
  /** columns per weight panel of the projection weights, or null: row-major (weight_panels.ts) */
  weightPanelCols: number | null;
}

const F32 = 4;
/** Bytes of one dispatch's uniform parameters (the largest Params struct: 8 × 4 bytes). */
const PARAMS_BYTES = 32;

/**
 * Build the plan of a point: its buffers, score windows and dispatches, or why it cannot run.
 * Pure: the preflight needs no allocation.
 */
function _plan(
  limits: PlanLimits,
  budgetBytes: number,
  hasTimestamps: boolean,
  variant: VariantName,
  shape: AttentionShape,
  tuning: TuningName,
  kernels: Readonly<Record<KernelId, KernelParameters>>,
  precision: Precision,
  hasShaderF16: boolean,
  maxScoreWindowBytes = Infinity,
): { plan: Plan; reason: null } | { plan: Plan | null; reason: string } {
  const { seqLen: n, dModel: d, heads } = shape;
  if (precision === "f16" && !hasShaderF16) return { plan: null, reason: NO_SHADER_F16 };
  const element = PRECISION_BYTES[precision];
  if (![n, d, heads].every((value) => Number.isSafeInteger(value) && value >= 1)) {
    return { plan: null, reason: `invalid shape n=${n}, d_model=${d}, heads=${heads}` };
  }
  if (d % heads !== 0) {
    return { plan: null, reason: `d_model ${d} is not divisible by heads ${heads}` };
  }
  const dK = d / heads;
  if (dK % 4 !== 0) {
    return {
      plan: null,
      reason:
        `the kernels read rows as vec4: d_k = d_model / heads = ${dK} must be a multiple of 4`,
    };
  }
  if (variant === "fused" && dK > MAX_FUSED_HEAD_WIDTH) {
    return {
      plan: null,
      reason:
        `the fused kernel holds a query row of d_k floats in registers, unrolled: d_k = ${dK} ` +
        `is over its ${MAX_FUSED_HEAD_WIDTH} (a software adapter compiles such a kernel for minutes)`,
    };
  }
  const d4 = d / 4;
  const dK4 = dK / 4;
  const nPad = Math.ceil(n / 4) * 4;
  const nPad4 = nPad / 4;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const scale = { f32: 1 / Math.sqrt(dK) };

  const windows: ScoreWindow[] = [];
  const stages: Dispatch[][] = [];
  const projection = _fitRowBlocks(kernels.projection, n);
  const projectionGrid = (cols: number): [number, number, number] => [
    Math.ceil(cols / 4 / colVecsPerWorkgroup(projection)),
    Math.ceil(n / rowsPerWorkgroup(projection)),
    1,
  ];
  stages.push([{
    kernel: "projection",
    parameters: projection,
    params: [n, d, 3 * d, d],
    bindings: ["x", "wQkv", "bQkv", "q", "k", "v"],
    grid: projectionGrid(3 * d),
  }]);

  if (variant === "naive") {
    const rowBytes = nPad * element;
    const headBytes = n * rowBytes;
    const maxWindow = Math.min(maxBinding, maxScoreWindowBytes);
    if (rowBytes > maxWindow) {
      return {
        plan: null,
        reason:
          `one score row (${rowBytes} bytes) exceeds the largest binding (${maxWindow} bytes)`,
      };
    }
    if (headBytes <= maxWindow) {
      const headsPerWindow = Math.min(heads, Math.floor(maxWindow / headBytes));
      for (let firstHead = 0; firstHead < heads; firstHead += headsPerWindow) {
        const windowHeads = Math.min(headsPerWindow, heads - firstHead);
        windows.push({
          firstHead,
          heads: windowHeads,
          firstRow: 0,
          rows: n,
          bytes: windowHeads * headBytes,
        });
      }
    } else {
      const count = Math.ceil(n / Math.floor(maxWindow / rowBytes));
      const rowsPerWindow = Math.ceil(n / count);
      for (let head = 0; head < heads; head++) {
        for (let firstRow = 0; firstRow < n; firstRow += rowsPerWindow) {
          const rows = Math.min(rowsPerWindow, n - firstRow);
          windows.push({ firstHead: head, heads: 1, firstRow, rows, bytes: rows * rowBytes });
        }
      }
    }
    const scores = kernels.scores;
    const softmax = kernels.softmax;
    const weighted = kernels.weighted_values;
    stages.push(windows.map((w, index) => ({
      kernel: "scores" as const,
      parameters: scores,
      params: [n, nPad4, d4, dK4, w.firstHead, w.firstRow, w.rows, scale],
      bindings: ["q", "k", { window: index }],
      grid: [
        Math.ceil(w.rows / rowsPerWorkgroup(scores)),
        Math.ceil(nPad4 / colVecsPerWorkgroup(scores)),
        w.heads,
      ] as [number, number, number],
    })));
    stages.push(windows.map((w, index) => ({
      kernel: "softmax" as const,
      parameters: softmax,
      params: [n, nPad4, w.heads * w.rows],
      bindings: [{ window: index }],
      grid: [Math.ceil(w.heads * w.rows / softmax.workgroupSize), 1, 1] as [number, number, number],
    })));
    stages.push(windows.map((w, index) => ({
      kernel: "weighted_values" as const,
      parameters: weighted,
      params: [n, nPad4, d4, dK4, w.firstHead, w.firstRow, w.rows],
      bindings: [{ window: index }, "v", "concat"],
      grid: [
        Math.ceil(w.rows / rowsPerWorkgroup(weighted)),
        Math.ceil(dK4 / colVecsPerWorkgroup(weighted)),
        w.heads,
      ] as [number, number, number],
    })));
  } else {
    const flash = _fitTileKeys(kernels.flash_attention, dK4, limits.maxComputeWorkgroupStorageSize);
    stages.push([{
      kernel: "flash_attention",
      parameters: flash,
      params: [n, d4, scale],
      bindings: ["q", "k", "v", "concat"],
      grid: [Math.ceil(n / rowsPerWorkgroup(flash)), heads, 1],
    }]);
  }
  stages.push([{
    kernel: "projection",
    parameters: projection,
    params: [n, d, d, d],
    bindings: ["concat", "wO", "bO", "out", "out", "out"],
    grid: projectionGrid(d),
  }]);

  const dispatchCount = stages.reduce((sum, stage) => sum + stage.length, 0);
  const paramsStride = _paramsStride(limits);
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const activation = (name: BufferName, size: number): BufferPlan => ({
    name,
    bufferClass: "activations",
    size,
    usage: storage,
  });
  const weight = (name: BufferName, size: number): BufferPlan => ({
    name,
    bufferClass: "weights",
    size,
    usage: storage,
  });
  const matrixBytes = n * d * element;
  // the register layout reads its weights in panels of its columns (projection.wgsl)
  const weightPanelCols = (projection.layout ?? "registers") === "registers"
    ? 4 * projection.template.COL_BLOCKS!
    : null;
  const weightBytes = (cols: number) =>
    element * (weightPanelCols ? weightPanelsLength(d, cols, weightPanelCols) : d * cols);
  const buffers: BufferPlan[] = [
    weight("wQkv", weightBytes(3 * d)),
    weight("bQkv", 3 * d * element),
    weight("wO", weightBytes(d)),
    weight("bO", d * element),
    activation("x", matrixBytes),
    activation("q", matrixBytes),
    activation("k", matrixBytes),
    activation("v", matrixBytes),
    activation("concat", matrixBytes),
    activation("out", matrixBytes),
    {
      name: "params",
      bufferClass: "activations",
      size: dispatchCount * paramsStride,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    },
  ];
  const timestampBytes = hasTimestamps ? 2 * (2 * stages.length * 8) : 0;
  const bytesNeeded = buffers.reduce((sum, b) => sum + b.size, 0) +
    windows.reduce((sum, w) => sum + w.bytes, 0) + timestampBytes;
  const plan: Plan = {
    tuning,
    precision,
    kernels,
    nPad,
    windows,
    buffers,
    stages,
    bytesNeeded,
    weightPanelCols,
  };

  for (const buffer of buffers) {
    if (buffer.usage & GPUBufferUsage.STORAGE && buffer.size > maxBinding) {
      return {
        plan,
        reason:
          `buffer ${buffer.name} (${buffer.size} bytes) exceeds the largest storage binding ` +
          `(${maxBinding} bytes)`,
      };
    }
  }
  for (const stage of stages) {
    for (const dispatch of stage) {
      const parameters = dispatch.parameters;
      if (
        parameters.workgroupSize > limits.maxComputeInvocationsPerWorkgroup ||
        parameters.workgroupSize > limits.maxComputeWorkgroupSizeX
      ) {
        return {
          plan,
          reason: `kernel ${dispatch.kernel}: workgroup size ${parameters.workgroupSize} exceeds ` +
            `the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations`,
        };
      }
      const tileProblem = tileSizesProblem(dispatch.kernel, parameters);
      if (tileProblem !== null) return { plan, reason: tileProblem };
      const sharedBytes = workgroupStorageBytes(dispatch.kernel, parameters, {
        HEAD_BLOCKS: dK / 4,
      });
      if (sharedBytes > limits.maxComputeWorkgroupStorageSize) {
        return {
          plan,
          reason: `kernel ${dispatch.kernel}: ${sharedBytes} bytes of workgroup memory exceed ` +
            `the device's ${limits.maxComputeWorkgroupStorageSize}`,
        };
      }
      const largest = Math.max(...dispatch.grid);
      if (largest > limits.maxComputeWorkgroupsPerDimension) {
        return {
          plan,
          reason: `kernel ${dispatch.kernel} needs ${largest} workgroups in one dimension, more ` +
            `than the device's ${limits.maxComputeWorkgroupsPerDimension}`,
        };
      }
    }
  }
  if (bytesNeeded > budgetBytes) {
    return {
      plan,
      reason: `needs ${_gib(bytesNeeded)} of GPU buffers, more than the ${
        _gib(budgetBytes)
      } allowed`,
    };
  }
  return { plan, reason: null };
}

const _primedSoftmax = new WeakSet<GPUComputePipeline>();

/**
 * Run the softmax kernel once over 8 rows of 256 keys. Measured on lavapipe (Mesa 22.3): until the
 * softmax pipeline has once run rows longer than 128 keys, it takes ~1.5 µs per score on rows of
 * ≤ 128 keys (15-25 ms at n = 128, a hundred times its normal time), and is fast from then on for
 * every length. The cause is inside the driver; this one-off dispatch, outside any forward, keeps
 * the artefact out of the profile's short lengths.
 */
async function _primeSoftmax(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  tracker: BufferTracker,
): Promise<void> {
  if (_primedSoftmax.has(pipeline)) return;
  _primedSoftmax.add(pipeline);
  const keys = 256;
  const rows = 8;
  const params = tracker.create("activations", {
    label: "softmax priming: params",
    size: PARAMS_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const scores = tracker.create("scores", {
    label: "softmax priming: scores",
    size: rows * keys * F32,
    usage: GPUBufferUsage.STORAGE,
  });
  try {
    device.queue.writeBuffer(params, 0, new Uint32Array([keys, keys / 4, rows, 0, 0, 0, 0, 0]));
    const encoder = device.createCommandEncoder({ label: "softmax priming" });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer: scores } },
        ],
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  } finally {
    tracker.destroy(params);
    tracker.destroy(scores);
  }
}

/**
 * Halve a kernel's row blocks while half of them still cover `rows`: at small n a 256-row
 * workgroup would compute mostly clamped rows (a few power-of-two sizes, so few compilations).
 */
function _fitRowBlocks(parameters: KernelParameters, rows: number): KernelParameters {
  const halved = (blocks: number) => ({
    ...parameters,
    template: { ...parameters.template, ROW_BLOCKS: blocks },
  });
  let blocks = parameters.template.ROW_BLOCKS!;
  while (blocks % 2 === 0 && rowsPerWorkgroup(halved(blocks / 2)) >= rows) blocks /= 2;
  return blocks === parameters.template.ROW_BLOCKS ? parameters : halved(blocks);
}

/**
 * Halve a workgroup-tile flash kernel's staged keys while its tiles overflow the device's
 * workgroup memory and a half still holds whole steps: parameters tuned at d_k 64 then still run
 * wider heads. What cannot fit even so is refused by the preflight.
 */
function _fitTileKeys(
  parameters: KernelParameters,
  headBlocks: number,
  limitBytes: number,
): KernelParameters {
  if (parameters.layout !== "workgroup-tiles") return parameters;
  const withKeys = (keys: number) => ({
    ...parameters,
    template: { ...parameters.template, TILE_KEYS: keys },
  });
  const step = 4 * parameters.template.KEY_BLOCKS!;
  let keys = parameters.template.TILE_KEYS!;
  const bytes = (k: number) =>
    workgroupStorageBytes("flash_attention", withKeys(k), { HEAD_BLOCKS: headBlocks });
  while (bytes(keys) > limitBytes && (keys / 2) % step === 0 && keys / 2 >= step) keys /= 2;
  return keys === parameters.template.TILE_KEYS ? parameters : withKeys(keys);
}

function _paramsStride(limits: Pick<GPUSupportedLimits, "minUniformBufferOffsetAlignment">) {
  const alignment = limits.minUniformBufferOffsetAlignment;
  return Math.ceil(PARAMS_BYTES / alignment) * alignment;
}

function _gib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : "unlimited";
}

function _tuningOf(ctx: GpuContext, options: GpuAttentionOptions): TuningName {
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
  const tuning = _tuningOf(ctx, options);
  const planned = _plan(
    ctx.device.limits,
    ctx.memoryBudgetBytes ?? Infinity,
    ctx.hasTimestamps,
    variant,
    shape,
    tuning,
    _kernelsOf(ctx, tuning, options),
    options.precision ?? "f32",
    options.precision !== "f16" || ctx.device.features.has("shader-f16"),
    options.maxScoreWindowBytes,
  );
  return { ...planned, tuning };
}

/** The times of one forward (see {@link GpuAttention.forward}). */
export interface ForwardTiming {
  wallMs: number;
  stageMs: number[] | null;
  /** optional: stand-ins for tests may leave it out */
  stageStartMs?: number[] | null;
}

/**
 * One attention forward on the GPU, for one variant and one shape: pipelines, buffers and
 * dispatches are built once by `create`, then `upload`, `forward` (any number of times) and
 * `readback`.
 *
 * @example
 * ```ts
 * const gpu = await openGpu();
 * if (gpu) {
 *   const shape = { seqLen: 16, dModel: 64, heads: 4 };
 *   const attention = await GpuAttention.create(gpu, "fused", shape);
 *   await attention.upload(generateInputs(shape, 42));
 *   const { wallMs, stageMs } = await attention.forward();
 *   const { out } = await attention.readback();
 *   attention.destroy();
 *   gpu.destroy();
 * }
 * ```
 */
export class GpuAttention {
  readonly variant: VariantName;
  readonly shape: AttentionShape;
  readonly stageNames: string[];
  readonly #ctx: GpuContext;
  readonly #plan: Plan;
  readonly #tracker: BufferTracker;
  readonly #buffers: Map<BufferName, GPUBuffer>;
  readonly #windows: GPUBuffer[];
  readonly #passes: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; grid: number[] }[][];
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
      passes: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; grid: number[] }[][];
      timestamps: StageTimestamps;
    },
  ) {
    this.#ctx = ctx;
    this.variant = variant;
    this.shape = shape;
    this.stageNames = [...STAGE_NAMES[variant]];
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

    const headTemplate = { HEAD_BLOCKS: shape.dModel / shape.heads / 4 };
    const pipelineKey = (dispatch: Dispatch) =>
      JSON.stringify([dispatch.kernel, dispatch.parameters]);
    const distinct = new Map(
      plan.stages.flat().map((dispatch) => [pipelineKey(dispatch), dispatch]),
    );
    const pipelines = new Map(
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

    const tracker = new BufferTracker(device);
    if (tuning === "software") {
      for (const dispatch of distinct.values()) {
        if (dispatch.kernel === "softmax") {
          await _primeSoftmax(device, pipelines.get(pipelineKey(dispatch))!, tracker);
        }
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
          `scores window ${index}: heads ${w.firstHead}+${w.heads}, rows ${w.firstRow}+${w.rows}`,
        size: w.bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      })
    );
    const timestamps = new StageTimestamps(device, tracker, plan.stages.length, ctx.hasTimestamps);

    const stride = _paramsStride(device.limits);
    const paramsBuffer = buffers.get("params")!;
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
        const pipeline = pipelines.get(pipelineKey(dispatch))!;
        const entries: GPUBindGroupEntry[] = [
          { binding: 0, resource: { buffer: paramsBuffer, offset, size: PARAMS_BYTES } },
          ...dispatch.bindings.map((name, i) => ({
            binding: i + 1,
            resource: {
              buffer: typeof name === "string" ? buffers.get(name)! : windows[name.window]!,
            },
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
    // both popped before awaiting: the scopes hold this allocation and nothing else
    const scopes = [device.popErrorScope(), device.popErrorScope()];
    const [validationError = null, memoryError = null] = await Promise.all(scopes);
    const error = memoryError ?? validationError;
    if (error !== null) {
      timestamps.destroy();
      tracker.destroyAll();
      const kind = memoryError ? "out of GPU memory" : "invalid GPU setup";
      throw new GpuForwardError(
        `${kind} for ${variant} at n=${shape.seqLen} (${_gib(plan.bytesNeeded)}): ${error.message}`,
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
    const { seqLen: n, dModel: d } = this.shape;
    const s = inputs.shape;
    if (s.seqLen !== n || s.dModel !== d || s.heads !== this.shape.heads) {
      throw new RangeError(
        `inputs of shape ${JSON.stringify(s)} for ${JSON.stringify(this.shape)}`,
      );
    }
    const { wQ, wK, wV, bQ, bK, bV, wO, bO } = inputs.weights;
    // w_q | w_k | w_v side by side: row k of wQkv is [w_q[k, :], w_k[k, :], w_v[k, :]]
    const wQkv = new Float32Array(d * 3 * d);
    for (let row = 0; row < d; row++) {
      wQkv.set(wQ.subarray(row * d, (row + 1) * d), row * 3 * d);
      wQkv.set(wK.subarray(row * d, (row + 1) * d), row * 3 * d + d);
      wQkv.set(wV.subarray(row * d, (row + 1) * d), row * 3 * d + 2 * d);
    }
    const bQkv = new Float32Array(3 * d);
    bQkv.set(bQ, 0);
    bQkv.set(bK, d);
    bQkv.set(bV, 2 * d);
    // f16: rounded to nearest on the host (Float16Array), before the timed upload
    const stored = (values: Float32Array): Float32Array | Float16Array =>
      this.#plan.precision === "f16" ? new Float16Array(values) : values;
    const panelCols = this.#plan.weightPanelCols;
    const laidOut = (matrix: Float32Array, cols: number) =>
      panelCols ? packWeightPanels(matrix, d, cols, panelCols) : matrix;
    const data = [
      ["x", stored(inputs.x)],
      ["wQkv", stored(laidOut(wQkv, 3 * d))],
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
      return { wallMs, stageMs: null, stageStartMs: null };
    }
    const lastEndMs = Math.max(...spans.startMs.map((startMs, i) => startMs + spans.stageMs[i]!));
    return {
      wallMs,
      stageMs: spans.stageMs,
      stageStartMs: lastEndMs <= wallMs ? spans.startMs : null,
    };
  }

  /**
   * Copy the output [n, d_model] back, as f32 whatever the precision; milliseconds of the copy and
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
