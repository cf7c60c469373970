/**
 * The kernel registry: every WGSL kernel with its label, file, entry point and parameters, and the
 * one place where modules and pipelines are built (error scopes, compiler messages surfaced).
 *
 * Parameters come in two tunings, because what is fast differs by kind of adapter:
 *
 * - `software` (lavapipe/llvmpipe: Vulkan on the CPU): workgroup_size(8) is one SIMD group, every
 *   storage load costs as much as dozens of multiply-adds and workgroup memory does not help, so
 *   each invocation owns a large register block (up to 32×32 outputs);
 * - `hardware` (a real GPU): larger workgroups and small register blocks.
 *
 * Sizes are template values (register blocks) and the WORKGROUP_SIZE override; see
 * `wgsl_template.ts` for why register blocks cannot be overrides.
 *
 * Storage precision is a prelude put before every attention kernel: `alias Stored = f32;`, or
 * `enable f16; alias Stored = f16;`. The kernels declare their storage arrays as
 * `array<vec4<Stored>>`, convert each load to f32 and each store back, so arithmetic and
 * accumulation stay f32 in both precisions and one WGSL file serves both.
 *
 * @module
 */

import { expandWgslTemplate } from "./wgsl_template.ts";
// the kernels' sources, embedded at load time (no file reads at run time, no --allow-read)
import projectionWgsl from "../../kernels/projection.wgsl" with { type: "text" };
import scoresWgsl from "../../kernels/scores.wgsl" with { type: "text" };
import softmaxWgsl from "../../kernels/softmax.wgsl" with { type: "text" };
import weightedValuesWgsl from "../../kernels/weighted_values.wgsl" with { type: "text" };
import flashAttentionWgsl from "../../kernels/flash_attention.wgsl" with { type: "text" };
import noopWgsl from "../../kernels/noop.wgsl" with { type: "text" };
import copyWgsl from "../../kernels/copy.wgsl" with { type: "text" };

/** Every kernel, one WGSL file each. */
export type KernelId =
  | "projection"
  | "scores"
  | "softmax"
  | "weighted_values"
  | "flash_attention"
  | "noop"
  | "copy";

/** Element type of the kernels' storage buffers (arithmetic is f32 in both). */
export type Precision = "f32" | "f16";

/** Bytes of one stored element. */
export const PRECISION_BYTES: Readonly<Record<Precision, number>> = { f32: 4, f16: 2 };

/** The WGSL put before a kernel's source: the `Stored` alias and, for f16, its enable directive. */
export const PRECISION_PRELUDES: Readonly<Record<Precision, string>> = {
  f32: "alias Stored = f32;\n",
  f16: "enable f16;\nalias Stored = f16;\n",
};

/** A kernel of the registry. */
export interface KernelSpec {
  id: KernelId;
  /** one line: what it computes and how */
  label: string;
  /** file name under kernels/ */
  file: string;
  /** the file's WGSL (template values not yet expanded) */
  source: string;
  entryPoint: string;
  /** names of the template values its source uses: register-block sizes and per-shape values */
  templateNames: readonly string[];
  /** whether its source stores `Stored` (needs the precision prelude) */
  usesPrecision: boolean;
}

/** The registry. */
export const KERNELS: Readonly<Record<KernelId, KernelSpec>> = {
  projection: {
    id: "projection",
    label:
      "matmul + bias (f32 arithmetic), register-blocked mat4x4 tiles, up to 3 outputs (Q|K|V in one dispatch)",
    file: "projection.wgsl",
    source: projectionWgsl,
    entryPoint: "main",
    templateNames: ["ROW_BLOCKS", "COL_BLOCKS"],
    usesPrecision: true,
  },
  scores: {
    id: "scores",
    label: "Q·Kᵀ/√d_k per head into windows of the n×n score matrix, register-blocked",
    file: "scores.wgsl",
    source: scoresWgsl,
    entryPoint: "main",
    templateNames: ["ROW_BLOCKS", "KEY_BLOCKS"],
    usesPrecision: true,
  },
  softmax: {
    id: "softmax",
    label: "row softmax in place, max-subtracted, one invocation per row",
    file: "softmax.wgsl",
    source: softmaxWgsl,
    entryPoint: "main",
    templateNames: [],
    usesPrecision: true,
  },
  weighted_values: {
    id: "weighted_values",
    label: "P·V per head from probability windows into the concatenated heads, register-blocked",
    file: "weighted_values.wgsl",
    source: weightedValuesWgsl,
    entryPoint: "main",
    templateNames: ["ROW_BLOCKS", "COL_BLOCKS"],
    usesPrecision: true,
  },
  flash_attention: {
    id: "flash_attention",
    label: "fused attention, online softmax over key blocks, q and o in registers, O(n) memory",
    file: "flash_attention.wgsl",
    source: flashAttentionWgsl,
    entryPoint: "main",
    templateNames: ["QUERY_BLOCKS", "KEY_BLOCKS", "HEAD_BLOCKS"],
    usesPrecision: true,
  },
  noop: {
    id: "noop",
    label: "empty kernel: the cost of one dispatch",
    file: "noop.wgsl",
    source: noopWgsl,
    entryPoint: "main",
    templateNames: [],
    usesPrecision: false,
  },
  copy: {
    id: "copy",
    label: "vec4 copy, grid-stride: the calibration's bandwidth ceiling",
    file: "copy.wgsl",
    source: copyWgsl,
    entryPoint: "main",
    templateNames: [],
    usesPrecision: false,
  },
};

/** Sizes of one kernel: the WORKGROUP_SIZE override and its template values. */
export interface KernelParameters {
  workgroupSize: number;
  template: Readonly<Record<string, number>>;
}

/** Which parameter set: CPU-emulated Vulkan, or a real GPU. */
export type TuningName = "software" | "hardware";

/**
 * Parameters of every kernel, per tuning.
 *
 * Software, measured on lavapipe (2 cores, n = 2048, d_model 512, runs interleaved in one process):
 * projection 8×8 blocks (32×32 outputs per invocation) 31 GFLOP/s against 22 for 4×8 and 18 for
 * 4×4; scores and weighted values 8×8 15–20 % faster than 4×4; flash attention with 16 queries per
 * invocation (QUERY_BLOCKS 4) 26 % faster than 12, while 32 spill and take 80 s to compile;
 * KEY_BLOCKS 2 runs no faster than 1 and doubles the compile time. Small lengths get fewer
 * projection row blocks (see gpu_attention.ts). Hardware: a plain starting point, not tuned (no
 * GPU was available); correctness is tested on lavapipe.
 */
export const TUNINGS: Readonly<Record<TuningName, Readonly<Record<KernelId, KernelParameters>>>> = {
  software: {
    projection: { workgroupSize: 8, template: { ROW_BLOCKS: 8, COL_BLOCKS: 8 } },
    scores: { workgroupSize: 8, template: { ROW_BLOCKS: 8, KEY_BLOCKS: 8 } },
    softmax: { workgroupSize: 8, template: {} },
    weighted_values: { workgroupSize: 8, template: { ROW_BLOCKS: 8, COL_BLOCKS: 8 } },
    flash_attention: { workgroupSize: 8, template: { QUERY_BLOCKS: 4, KEY_BLOCKS: 1 } },
    noop: { workgroupSize: 1, template: {} },
    copy: { workgroupSize: 8, template: {} },
  },
  hardware: {
    projection: { workgroupSize: 64, template: { ROW_BLOCKS: 1, COL_BLOCKS: 1 } },
    scores: { workgroupSize: 64, template: { ROW_BLOCKS: 1, KEY_BLOCKS: 1 } },
    softmax: { workgroupSize: 64, template: {} },
    weighted_values: { workgroupSize: 64, template: { ROW_BLOCKS: 1, COL_BLOCKS: 1 } },
    flash_attention: { workgroupSize: 64, template: { QUERY_BLOCKS: 1, KEY_BLOCKS: 1 } },
    noop: { workgroupSize: 1, template: {} },
    copy: { workgroupSize: 256, template: {} },
  },
};

/** A module or pipeline could not be built: carries the compiler's message. */
export class KernelBuildError extends Error {
  override name = "KernelBuildError";
}

/** Rows (or queries) one workgroup covers: 4 per row block, times the workgroup size. */
export function rowsPerWorkgroup(parameters: KernelParameters): number {
  const blocks = parameters.template.ROW_BLOCKS ?? parameters.template.QUERY_BLOCKS ?? 1;
  return 4 * blocks * parameters.workgroupSize;
}

const _pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/**
 * The pipeline of a registered kernel with these parameters (and per-shape template values such as
 * HEAD_BLOCKS) and storage precision, cached per device: a pipeline is compiled once, and lavapipe
 * compiles it again at its first dispatch, so reusing it keeps later forwards warm. f16 needs a
 * device created with "shader-f16".
 */
export function kernelPipeline(
  device: GPUDevice,
  kernel: KernelSpec,
  parameters: KernelParameters,
  shapeTemplate: Record<string, number> = {},
  precision: Precision = "f32",
): Promise<GPUComputePipeline> {
  const given: Record<string, number> = { ...parameters.template, ...shapeTemplate };
  // only the values the kernel uses: they key the cache, so a kernel is compiled once per value set
  const template: Record<string, number> = {};
  for (const name of kernel.templateNames) {
    const value = given[name];
    if (value === undefined) {
      throw new KernelBuildError(`kernel ${kernel.id}: template value ${name} is missing`);
    }
    template[name] = value;
  }
  const prelude = kernel.usesPrecision ? PRECISION_PRELUDES[precision] : "";
  const stored = kernel.usesPrecision ? precision : "";
  const key = JSON.stringify([kernel.id, parameters.workgroupSize, template, stored]);
  let cache = _pipelineCache.get(device);
  if (cache === undefined) _pipelineCache.set(device, cache = new Map());
  let pipeline = cache.get(key);
  if (pipeline === undefined) {
    pipeline = createComputePipeline(device, {
      label: `${kernel.id} ${stored && `${stored} `}${
        JSON.stringify(template)
      } wg${parameters.workgroupSize}`,
      code: prelude + expandWgslTemplate(kernel.source, template),
      entryPoint: kernel.entryPoint,
      constants: { WORKGROUP_SIZE: parameters.workgroupSize },
    });
    cache.set(key, pipeline);
    pipeline.catch(() => cache.delete(key));
  }
  return pipeline;
}

/**
 * Build a compute pipeline from WGSL inside validation error scopes. A compile error throws a
 * KernelBuildError with the compiler's messages (line:column), not an uncaptured error event.
 * Each scope is pushed and popped with nothing awaited in between, so concurrent builds on one
 * device cannot take each other's errors.
 */
export async function createComputePipeline(
  device: GPUDevice,
  options: { label: string; code: string; entryPoint: string; constants?: Record<string, number> },
): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: options.label, code: options.code });
  const moduleError = await device.popErrorScope();
  if (moduleError !== null) {
    const info = await module.getCompilationInfo().catch(() => null);
    const details = info?.messages
      .filter((message) => message.type === "error")
      .map((message) => `${message.lineNum}:${message.linePos} ${message.message}`)
      .join("; ");
    throw new KernelBuildError(
      `WGSL module ${options.label} does not compile: ${details || moduleError.message}`,
    );
  }
  // created synchronously between push and pop, so no other work on the device can interleave
  // with this scope (lavapipe compiles the machine code at the first dispatch anyway)
  device.pushErrorScope("validation");
  const pipeline = device.createComputePipeline({
    label: options.label,
    layout: "auto",
    compute: { module, entryPoint: options.entryPoint, constants: options.constants },
  });
  const pipelineError = await device.popErrorScope();
  if (pipelineError !== null) {
    throw new KernelBuildError(`pipeline ${options.label} failed: ${pipelineError.message}`);
  }
  return pipeline;
}
