/**
 * The plan of one GPU forward: its buffers, score windows and dispatches, built from the variant's
 * planner (src/gpu/variants/) and checked against the device's limits — pure, so the preflight
 * allocates nothing. Every variant shares the framing: the Q|K|V projection first, the output
 * projection last; its planner supplies the stages between them.
 *
 * @module
 */

import { type AttentionShape, resolveShape } from "../shape.ts";
import { type MaskBounds, maskBounds } from "./mask_bounds.ts";
import { type BufferClass } from "./buffer_tracker.ts";
import {
  colVecsPerWorkgroup,
  type KernelId,
  type KernelParameters,
  type Precision,
  PRECISION_BYTES,
  rowsPerWorkgroup,
  tileSizesProblem,
  type TuningName,
  workgroupStorageBytes,
} from "./kernels.ts";
import { type VariantName, VARIANTS } from "../variants/registry.ts";
import { GPU_VARIANT_PLANNERS } from "./variants/mod.ts";
import { weightPanelsLength } from "./weight_panels.ts";

/** The preflight's reason when f16 is asked of a device without "shader-f16". */
export const NO_SHADER_F16 = "adapter has no shader-f16";

/** The device limits the plan depends on (a subset of GPUSupportedLimits). */
export type PlanLimits = Pick<
  GPUSupportedLimits,
  | "maxStorageBufferBindingSize"
  | "maxBufferSize"
  | "maxComputeWorkgroupsPerDimension"
  | "maxComputeInvocationsPerWorkgroup"
  | "maxComputeWorkgroupSizeX"
  | "maxComputeWorkgroupStorageSize"
  | "minUniformBufferOffsetAlignment"
>;

/**
 * Rows [firstRow, firstRow + rows) of slabs [firstSlab, firstSlab + slabs) of the stored scores, a
 * slab being one (sequence b, head h) pair, numbered b·heads + h (kernels/score_window.wgsl).
 */
export interface ScoreWindow {
  /** the first (sequence, head) slab */
  firstSlab: number;
  /** the number of slabs */
  slabs: number;
  /** the first query row */
  firstRow: number;
  /** the number of rows */
  rows: number;
  /** the window's bytes */
  bytes: number;
}

/** A persistent buffer of the plan. */
export interface BufferPlan {
  name: BufferName;
  bufferClass: BufferClass;
  size: number;
  usage: number;
}

/** The persistent buffers every forward has. */
export type BufferName =
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
  | "params"
  | "linearState"
  | "lse";

/** One dispatch of a stage. */
export interface Dispatch {
  kernel: KernelId;
  parameters: KernelParameters;
  /** uniform parameters: u32 values, or f32 where given as { f32 } */
  params: (number | { f32: number })[];
  /** storage bindings 1… in order: a persistent buffer's name, or a score window's index */
  bindings: (BufferName | { window: number })[];
  grid: [number, number, number];
}

/** Everything a forward needs, decided before any allocation. */
export interface Plan {
  tuning: TuningName;
  precision: Precision;
  kernels: Readonly<Record<KernelId, KernelParameters>>;
  windows: ScoreWindow[];
  buffers: BufferPlan[];
  /** per stage, its dispatches */
  stages: Dispatch[][];
  bytesNeeded: number;
  /** columns per weight panel of the projection weights, or null: row-major (weight_panels.ts) */
  weightPanelCols: number | null;
}

/** What a plan is built from. */
export interface PlanRequest {
  limits: PlanLimits;
  /** GPU bytes the point may hold (Infinity: no budget) */
  budgetBytes: number;
  hasTimestamps: boolean;
  variant: VariantName;
  shape: AttentionShape;
  tuning: TuningName;
  kernels: Readonly<Record<KernelId, KernelParameters>>;
  precision: Precision;
  hasShaderF16: boolean;
  /** cap each score window below the device's binding limit (tests of the windowing) */
  maxScoreWindowBytes?: number;
}

/** The sizes a variant's planner works with. */
export interface PlanContext {
  shape: AttentionShape;
  limits: PlanLimits;
  kernels: Readonly<Record<KernelId, KernelParameters>>;
  n: number;
  dModel: number;
  heads: number;
  dK: number;
  /** sequences in one forward */
  batch: number;
  /** key/value heads (grouped-query attention) */
  kvHeads: number;
  /** rows of x, q, k, v and the output: batch·n */
  rows: number;
  /** the mask as the kernels read it (kernels/mask.wgsl) */
  mask: MaskBounds;
  /** bytes of one stored element */
  elementBytes: number;
  /** the largest storage binding, capped by `maxScoreWindowBytes` for score windows */
  maxWindowBytes: number;
  /** 1/√d_k, as a uniform f32 */
  scale: { f32: number };
}

/** The stages a variant runs between the two projections, or why it cannot run. */
export type VariantStages =
  | {
    stages: Dispatch[][];
    windows: ScoreWindow[];
    /** buffers of its own besides the shared ones (activations class), by name and bytes */
    buffers?: { name: BufferName; bytes: number }[];
  }
  | { reason: string };

/** A variant's GPU planner: its stages between the Q|K|V and the output projection. */
export type VariantPlanner = (context: PlanContext) => VariantStages;

/** A plan that fits, or why not (with the plan when it got that far, for its byte count). */
export type PlanOutcome = { plan: Plan; reason: null } | { plan: Plan | null; reason: string };

/** Bytes of one dispatch's uniform parameters (the largest Params struct: 14 × 4 bytes). */
export const PARAMS_BYTES = 64;

/**
 * Build the plan of a point: its buffers, score windows and dispatches, or why it cannot run.
 */
export function planForward(request: PlanRequest): PlanOutcome {
  const { shape, precision } = request;
  if (precision === "f16" && !request.hasShaderF16) return { plan: null, reason: NO_SHADER_F16 };
  const shapeProblem = _shapeProblem(shape);
  if (shapeProblem !== null) return { plan: null, reason: shapeProblem };
  // the registry says which configurations a variant computes (its attention, its masks)
  const unsupported = VARIANTS[request.variant].unsupported(resolveShape(shape));
  if (unsupported !== null) return { plan: null, reason: unsupported };
  const context = _context(request);
  const middle = GPU_VARIANT_PLANNERS[request.variant](context);
  if ("reason" in middle) return { plan: null, reason: middle.reason };
  const projection = _fitRowBlocks(request.kernels.projection, context.rows);
  const stages = [
    [_projectionDispatch(context, projection, "qkv")],
    ...middle.stages,
    [_projectionDispatch(context, projection, "output")],
  ];
  const weightPanelCols = (projection.layout ?? "registers") === "registers"
    ? 4 * projection.template.COL_BLOCKS!
    : null;
  const buffers = [
    ..._buffers(context, stages, weightPanelCols),
    ...(middle.buffers ?? []).map(({ name, bytes }): BufferPlan => ({
      name,
      bufferClass: "activations",
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    })),
  ];
  const timestampBytes = request.hasTimestamps ? 2 * (2 * stages.length * 8) : 0;
  const bytesNeeded = buffers.reduce((sum, b) => sum + b.size, 0) +
    middle.windows.reduce((sum, w) => sum + w.bytes, 0) + timestampBytes;
  const plan: Plan = {
    tuning: request.tuning,
    precision,
    kernels: request.kernels,
    windows: middle.windows,
    buffers,
    stages,
    bytesNeeded,
    weightPanelCols,
  };
  const reason = _limitsProblem(plan, context) ?? _budgetProblem(plan, request.budgetBytes);
  return reason === null ? { plan, reason: null } : { plan, reason };
}

function _shapeProblem(shape: AttentionShape): string | null {
  const { seqLen: n, dModel: d, heads, batch, kvHeads, mask, window } = resolveShape(shape);
  if (![n, d, heads, batch, kvHeads].every((value) => Number.isSafeInteger(value) && value >= 1)) {
    return `invalid shape n=${n}, d_model=${d}, heads=${heads}, batch=${batch}, ` +
      `kv_heads=${kvHeads}`;
  }
  if (d % heads !== 0) return `d_model ${d} is not divisible by heads ${heads}`;
  if (heads % kvHeads !== 0) return `kv_heads ${kvHeads} does not divide heads ${heads}`;
  if (mask === "sliding" && !(Number.isSafeInteger(window) && window >= 1)) {
    return `sliding window ${window} is not a positive integer`;
  }
  const dK = d / heads;
  if (dK % 4 !== 0) {
    return `the kernels read rows as vec4: d_k = d_model / heads = ${dK} must be a multiple of 4`;
  }
  return null;
}

function _context(request: PlanRequest): PlanContext {
  const { shape, limits } = request;
  const { seqLen: n, dModel, heads, batch, kvHeads } = resolveShape(shape);
  const dK = dModel / heads;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  return {
    shape,
    limits,
    kernels: request.kernels,
    n,
    dModel,
    heads,
    dK,
    batch,
    kvHeads,
    rows: batch * n,
    mask: maskBounds(shape),
    elementBytes: PRECISION_BYTES[request.precision],
    maxWindowBytes: Math.min(maxBinding, request.maxScoreWindowBytes ?? Infinity),
    scale: { f32: 1 / Math.sqrt(dK) },
  };
}

/**
 * The Q|K|V projection (three outputs in one dispatch: d_model columns of q, kv_heads·d_k of k and
 * of v) or the output projection, over all batch·n rows.
 */
function _projectionDispatch(
  context: PlanContext,
  projection: KernelParameters,
  which: "qkv" | "output",
): Dispatch {
  const { rows, dModel: d } = context;
  const kvCols = which === "qkv" ? context.kvHeads * context.dK : 0;
  const cols = d + 2 * kvCols;
  return {
    kernel: "projection",
    parameters: projection,
    params: [rows, d, cols, d, kvCols],
    bindings: which === "qkv"
      ? ["x", "wQkv", "bQkv", "q", "k", "v"]
      : ["concat", "wO", "bO", "out", "out", "out"],
    grid: [
      Math.ceil(cols / 4 / colVecsPerWorkgroup(projection)),
      Math.ceil(rows / rowsPerWorkgroup(projection)),
      1,
    ],
  };
}

function _buffers(
  context: PlanContext,
  stages: Dispatch[][],
  weightPanelCols: number | null,
): BufferPlan[] {
  const { rows, dModel: d, elementBytes: element } = context;
  const kvCols = context.kvHeads * context.dK;
  const qkvCols = d + 2 * kvCols;
  const dispatchCount = stages.reduce((sum, stage) => sum + stage.length, 0);
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffer = (name: BufferName, bufferClass: BufferClass, size: number): BufferPlan => ({
    name,
    bufferClass,
    size,
    usage: storage,
  });
  const matrixBytes = rows * d * element;
  const kvBytes = rows * kvCols * element;
  // the register layout reads its weights in panels of its columns (projection.wgsl)
  const weightBytes = (cols: number) =>
    element * (weightPanelCols ? weightPanelsLength(d, cols, weightPanelCols) : d * cols);
  return [
    buffer("wQkv", "weights", weightBytes(qkvCols)),
    buffer("bQkv", "weights", qkvCols * element),
    buffer("wO", "weights", weightBytes(d)),
    buffer("bO", "weights", d * element),
    ...(["x", "q", "k", "v", "concat", "out"] as const).map((name) =>
      buffer(name, "activations", name === "k" || name === "v" ? kvBytes : matrixBytes)
    ),
    {
      name: "params",
      bufferClass: "activations",
      size: dispatchCount * paramsStride(context.limits),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    },
  ];
}

/** The first binding, workgroup, tile or grid limit the plan breaks, or null. */
function _limitsProblem(plan: Plan, context: PlanContext): string | null {
  const { limits } = context;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const buffer of plan.buffers) {
    if (buffer.usage & GPUBufferUsage.STORAGE && buffer.size > maxBinding) {
      return `buffer ${buffer.name} (${buffer.size} bytes) exceeds the largest storage binding ` +
        `(${maxBinding} bytes)`;
    }
  }
  for (const dispatch of plan.stages.flat()) {
    const problem = _dispatchProblem(dispatch, context);
    if (problem !== null) return problem;
  }
  return null;
}

function _dispatchProblem(dispatch: Dispatch, context: PlanContext): string | null {
  const { limits } = context;
  const parameters = dispatch.parameters;
  if (
    parameters.workgroupSize > limits.maxComputeInvocationsPerWorkgroup ||
    parameters.workgroupSize > limits.maxComputeWorkgroupSizeX
  ) {
    return `kernel ${dispatch.kernel}: workgroup size ${parameters.workgroupSize} exceeds ` +
      `the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations`;
  }
  const tileProblem = tileSizesProblem(dispatch.kernel, parameters);
  if (tileProblem !== null) return tileProblem;
  const sharedBytes = workgroupStorageBytes(dispatch.kernel, parameters, {
    HEAD_BLOCKS: context.dK / 4,
  });
  if (sharedBytes > limits.maxComputeWorkgroupStorageSize) {
    return `kernel ${dispatch.kernel}: ${sharedBytes} bytes of workgroup memory exceed ` +
      `the device's ${limits.maxComputeWorkgroupStorageSize}`;
  }
  const largest = Math.max(...dispatch.grid);
  if (largest > limits.maxComputeWorkgroupsPerDimension) {
    return `kernel ${dispatch.kernel} needs ${largest} workgroups in one dimension, more ` +
      `than the device's ${limits.maxComputeWorkgroupsPerDimension}`;
  }
  return null;
}

function _budgetProblem(plan: Plan, budgetBytes: number): string | null {
  if (plan.bytesNeeded <= budgetBytes) return null;
  return `needs ${formatGib(plan.bytesNeeded)} of GPU buffers, more than the ${
    formatGib(budgetBytes)
  } allowed`;
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

/** Bytes between two dispatches' uniform parameters: PARAMS_BYTES, aligned for offsets. */
export function paramsStride(
  limits: Pick<GPUSupportedLimits, "minUniformBufferOffsetAlignment">,
): number {
  const alignment = limits.minUniformBufferOffsetAlignment;
  return Math.ceil(PARAMS_BYTES / alignment) * alignment;
}

/** Bytes as GiB with two decimals ("unlimited" for Infinity). */
export function formatGib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : "unlimited";
}
