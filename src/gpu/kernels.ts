/**
 * The kernel registry: every WGSL kernel with its label, file, entry point and parameters, and the
 * one place where modules and pipelines are built (error scopes, compiler messages surfaced).
 *
 * Parameters come in two tunings, because what is fast differs by kind of adapter:
 *
 * - `software` (lavapipe/llvmpipe: Vulkan on the CPU): workgroup_size(8) is one SIMD group, every
 *   storage load costs as much as dozens of multiply-adds and workgroup memory does not help, so
 *   each invocation owns a large register block (up to 32×32 outputs);
 * - `hardware` (a real GPU): larger workgroups, small register blocks, and the workgroup-tile
 *   layout (operands staged in workgroup memory with coalesced vec4 loads) where a kernel has one.
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
import projectionCommonWgsl from "../../kernels/projection_common.wgsl" with { type: "text" };
import projectionWgsl from "../../kernels/projection.wgsl" with { type: "text" };
import projectionTiledWgsl from "../../kernels/projection_tiled.wgsl" with { type: "text" };
import scoresCommonWgsl from "../../kernels/scores_common.wgsl" with { type: "text" };
import scoresWgsl from "../../kernels/scores.wgsl" with { type: "text" };
import scoresTiledWgsl from "../../kernels/scores_tiled.wgsl" with { type: "text" };
import softmaxWgsl from "../../kernels/softmax.wgsl" with { type: "text" };
import weightedValuesCommonWgsl from "../../kernels/weighted_values_common.wgsl" with {
  type: "text",
};
import weightedValuesWgsl from "../../kernels/weighted_values.wgsl" with { type: "text" };
import weightedValuesTiledWgsl from "../../kernels/weighted_values_tiled.wgsl" with {
  type: "text",
};
import flashAttentionCommonWgsl from "../../kernels/flash_attention_common.wgsl" with {
  type: "text",
};
import flashAttentionWgsl from "../../kernels/flash_attention.wgsl" with { type: "text" };
import flashAttentionTiledWgsl from "../../kernels/flash_attention_tiled.wgsl" with {
  type: "text",
};
import linearCommonWgsl from "../../kernels/linear_common.wgsl" with { type: "text" };
import linearStateWgsl from "../../kernels/linear_state.wgsl" with { type: "text" };
import linearPrefixWgsl from "../../kernels/linear_prefix.wgsl" with { type: "text" };
import linearOutputWgsl from "../../kernels/linear_output.wgsl" with { type: "text" };
import noopWgsl from "../../kernels/noop.wgsl" with { type: "text" };
import copyWgsl from "../../kernels/copy.wgsl" with { type: "text" };

/** Every kernel: one WGSL file per layout, and a common file where it has two layouts. */
export type KernelId =
  | "projection"
  | "scores"
  | "softmax"
  | "weighted_values"
  | "flash_attention"
  | "linear_state"
  | "linear_prefix"
  | "linear_output"
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

/**
 * Where a kernel keeps the operands it reuses: `registers`, each invocation loading its own from
 * storage into a large register block (a software adapter: workgroup memory does not help), or
 * `workgroup-tiles`, a workgroup staging tiles in workgroup memory with coalesced vec4 loads and
 * each invocation reading them from there (a real GPU).
 */
export type KernelLayout = "registers" | "workgroup-tiles";

/** One WGSL file of a kernel. */
export interface KernelSource {
  /** file name under kernels/ */
  file: string;
  /** the file's WGSL (template values not yet expanded) */
  source: string;
}

/** A layout of a kernel: its file and the template values the module uses (common part's too). */
export interface KernelLayoutSource extends KernelSource {
  templateNames: readonly string[];
}

/** A kernel of the registry. */
export interface KernelSpec {
  id: KernelId;
  /** one line: what it computes and how */
  label: string;
  entryPoint: string;
  /** WGSL shared by the kernel's layouts, put before the layout's file */
  common?: KernelSource;
  layouts: { registers: KernelLayoutSource; "workgroup-tiles"?: KernelLayoutSource };
  /** whether its source stores `Stored` (needs the precision prelude) */
  usesPrecision: boolean;
}

/** The registry. */
export const KERNELS: Readonly<Record<KernelId, KernelSpec>> = {
  projection: {
    id: "projection",
    label:
      "matmul + bias (f32 arithmetic) in mat4x4 blocks, up to 3 outputs (Q|K|V in one dispatch)",
    entryPoint: "main",
    common: { file: "projection_common.wgsl", source: projectionCommonWgsl },
    layouts: {
      registers: {
        file: "projection.wgsl",
        source: projectionWgsl,
        templateNames: ["ROW_BLOCKS", "COL_BLOCKS"],
      },
      "workgroup-tiles": {
        file: "projection_tiled.wgsl",
        source: projectionTiledWgsl,
        templateNames: ["ROW_BLOCKS", "COL_BLOCKS", "ROW_LANES", "COL_LANES", "TILE_INNER"],
      },
    },
    usesPrecision: true,
  },
  scores: {
    id: "scores",
    label: "Q·Kᵀ/√d_k per head into windows of the n×n score matrix, in mat4x4 blocks",
    entryPoint: "main",
    common: { file: "scores_common.wgsl", source: scoresCommonWgsl },
    layouts: {
      registers: {
        file: "scores.wgsl",
        source: scoresWgsl,
        templateNames: ["ROW_BLOCKS", "KEY_BLOCKS"],
      },
      "workgroup-tiles": {
        file: "scores_tiled.wgsl",
        source: scoresTiledWgsl,
        templateNames: ["ROW_BLOCKS", "KEY_BLOCKS", "ROW_LANES", "COL_LANES", "TILE_INNER"],
      },
    },
    usesPrecision: true,
  },
  softmax: {
    id: "softmax",
    label: "row softmax in place, max-subtracted, one invocation per row",
    entryPoint: "main",
    layouts: { registers: { file: "softmax.wgsl", source: softmaxWgsl, templateNames: [] } },
    usesPrecision: true,
  },
  weighted_values: {
    id: "weighted_values",
    label: "P·V per head from probability windows into the concatenated heads, mat4x4 blocks",
    entryPoint: "main",
    common: { file: "weighted_values_common.wgsl", source: weightedValuesCommonWgsl },
    layouts: {
      registers: {
        file: "weighted_values.wgsl",
        source: weightedValuesWgsl,
        templateNames: ["ROW_BLOCKS", "COL_BLOCKS"],
      },
      "workgroup-tiles": {
        file: "weighted_values_tiled.wgsl",
        source: weightedValuesTiledWgsl,
        templateNames: ["ROW_BLOCKS", "COL_BLOCKS", "ROW_LANES", "COL_LANES", "TILE_INNER"],
      },
    },
    usesPrecision: true,
  },
  flash_attention: {
    id: "flash_attention",
    label: "fused attention, online softmax over key blocks, q and o in registers, O(n) memory",
    entryPoint: "main",
    common: { file: "flash_attention_common.wgsl", source: flashAttentionCommonWgsl },
    layouts: {
      registers: {
        file: "flash_attention.wgsl",
        source: flashAttentionWgsl,
        templateNames: ["QUERY_BLOCKS", "KEY_BLOCKS", "HEAD_BLOCKS"],
      },
      "workgroup-tiles": {
        file: "flash_attention_tiled.wgsl",
        source: flashAttentionTiledWgsl,
        templateNames: ["QUERY_BLOCKS", "KEY_BLOCKS", "HEAD_BLOCKS", "TILE_KEYS"],
      },
    },
    usesPrecision: true,
  },
  linear_state: {
    id: "linear_state",
    label: "linear attention: S = Σ φ(k)·vᵀ and z = Σ φ(k) per chunk of keys, 4 rows × vec4",
    entryPoint: "main",
    common: { file: "linear_common.wgsl", source: linearCommonWgsl },
    layouts: {
      registers: { file: "linear_state.wgsl", source: linearStateWgsl, templateNames: [] },
    },
    usesPrecision: true,
  },
  linear_prefix: {
    id: "linear_prefix",
    label: "linear attention, causal: exclusive prefix sums of the chunk states, in place",
    entryPoint: "main",
    common: { file: "linear_common.wgsl", source: linearCommonWgsl },
    layouts: {
      registers: { file: "linear_prefix.wgsl", source: linearPrefixWgsl, templateNames: [] },
    },
    usesPrecision: true,
  },
  linear_output: {
    id: "linear_output",
    label: "linear attention: φ(q)ᵀS / φ(q)ᵀz (+ the query's own chunk key by key when causal)",
    entryPoint: "main",
    common: { file: "linear_common.wgsl", source: linearCommonWgsl },
    layouts: {
      registers: { file: "linear_output.wgsl", source: linearOutputWgsl, templateNames: [] },
    },
    usesPrecision: true,
  },
  noop: {
    id: "noop",
    label: "empty kernel: the cost of one dispatch",
    entryPoint: "main",
    layouts: { registers: { file: "noop.wgsl", source: noopWgsl, templateNames: [] } },
    usesPrecision: false,
  },
  copy: {
    id: "copy",
    label: "vec4 copy, grid-stride: the calibration's bandwidth ceiling",
    entryPoint: "main",
    layouts: { registers: { file: "copy.wgsl", source: copyWgsl, templateNames: [] } },
    usesPrecision: false,
  },
};

/** Sizes of one kernel: the WORKGROUP_SIZE override, its template values, and its layout. */
export interface KernelParameters {
  /** invocations per workgroup (the WORKGROUP_SIZE override) */
  workgroupSize: number;
  /** the kernel's template values (block sizes) */
  template: Readonly<Record<string, number>>;
  /** absent: "registers" */
  layout?: KernelLayout;
}

/** Which parameter set: CPU-emulated Vulkan, or a real GPU. */
export type TuningName = "software" | "hardware";

/**
 * Parameters of every kernel, per tuning.
 *
 * Software, measured on lavapipe (2 cores, n = 2048, d_model 512, runs interleaved in one process):
 * projection 8×8 blocks (32×32 outputs per invocation) 31 GFLOP/s against 22 for 4×8 and 18 for
 * 4×4; with the weights in panels, 8×16 blocks (32×64 outputs) 1.12–1.20× as fast as 8×8 in
 * interleaved rounds at n = 4096 (bench/projection_blocks.ts; ~12 s to compile without Mesa's
 * cache); scores and weighted values 8×8 15–20 % faster than 4×4; flash attention with 16 queries
 * per invocation (QUERY_BLOCKS 4) 26 % faster than 12, while 32 spill and take 80 s to compile;
 * KEY_BLOCKS 2 runs no faster than 1 and doubles the compile time. Small lengths get fewer
 * projection row blocks (see gpu_attention.ts). Hardware: the textbook starting point, not tuned
 * (no GPU was available): 64×64 projection and score tiles staged through workgroup memory by 256
 * invocations of 4×4 outputs each, P·V tiles of 64 rows × 16 columns (d_k is often 64) by 64,
 * flash attention staging 16 keys (≤ 16 KiB, WebGPU's default workgroup memory, for d_k ≤ 128)
 * for 64 invocations of 4 queries each; `--tune` searches the rest per adapter.
 * Correctness of both is tested on lavapipe.
 */
export const TUNINGS: Readonly<Record<TuningName, Readonly<Record<KernelId, KernelParameters>>>> = {
  software: {
    projection: { workgroupSize: 8, template: { ROW_BLOCKS: 8, COL_BLOCKS: 16 } },
    scores: { workgroupSize: 8, template: { ROW_BLOCKS: 8, KEY_BLOCKS: 8 } },
    softmax: { workgroupSize: 8, template: {} },
    weighted_values: { workgroupSize: 8, template: { ROW_BLOCKS: 8, COL_BLOCKS: 8 } },
    flash_attention: { workgroupSize: 8, template: { QUERY_BLOCKS: 4, KEY_BLOCKS: 1 } },
    linear_state: { workgroupSize: 8, template: {} },
    linear_prefix: { workgroupSize: 8, template: {} },
    linear_output: { workgroupSize: 8, template: {} },
    noop: { workgroupSize: 1, template: {} },
    copy: { workgroupSize: 8, template: {} },
  },
  hardware: {
    projection: {
      workgroupSize: 256,
      layout: "workgroup-tiles",
      template: { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 16, TILE_INNER: 4 },
    },
    scores: {
      workgroupSize: 256,
      layout: "workgroup-tiles",
      template: { ROW_BLOCKS: 1, KEY_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 16, TILE_INNER: 4 },
    },
    softmax: { workgroupSize: 64, template: {} },
    weighted_values: {
      workgroupSize: 64,
      layout: "workgroup-tiles",
      template: { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 4, TILE_INNER: 4 },
    },
    flash_attention: {
      workgroupSize: 64,
      layout: "workgroup-tiles",
      template: { QUERY_BLOCKS: 1, KEY_BLOCKS: 1, TILE_KEYS: 16 },
    },
    linear_state: { workgroupSize: 64, template: {} },
    linear_prefix: { workgroupSize: 64, template: {} },
    linear_output: { workgroupSize: 64, template: {} },
    noop: { workgroupSize: 1, template: {} },
    copy: { workgroupSize: 256, template: {} },
  },
};

/** A module or pipeline could not be built: carries the compiler's message. */
export class KernelBuildError extends Error {
  override name = "KernelBuildError";
}

/** Rows (or queries) one workgroup covers: 4 per row block, times its invocations along rows. */
export function rowsPerWorkgroup(parameters: KernelParameters): number {
  const blocks = parameters.template.ROW_BLOCKS ?? parameters.template.QUERY_BLOCKS ?? 1;
  return 4 * blocks * (parameters.template.ROW_LANES ?? parameters.workgroupSize);
}

/**
 * vec4 columns (keys, for the scores) one workgroup covers: its column blocks, times its
 * invocations along columns.
 */
export function colVecsPerWorkgroup(parameters: KernelParameters): number {
  const blocks = parameters.template.COL_BLOCKS ?? parameters.template.KEY_BLOCKS!;
  return blocks * (parameters.template.COL_LANES ?? 1);
}

/** The WGSL of a kernel's layout: the common part, then the layout's file. */
export function kernelSource(kernel: KernelSpec, layout: KernelLayout = "registers"): string {
  const source = kernel.layouts[layout];
  if (source === undefined) {
    throw new KernelBuildError(`kernel ${kernel.id} has no ${layout} layout`);
  }
  return (kernel.common ? kernel.common.source + "\n" : "") + source.source;
}

/**
 * Bytes of workgroup memory a kernel declares (0 in the register layout), given its template
 * values and the per-shape ones (HEAD_BLOCKS): what the preflight checks against the device's
 * maxComputeWorkgroupStorageSize. Staged values are f32 vec4 (16 bytes) in both precisions.
 */
export function workgroupStorageBytes(
  kernel: KernelId,
  parameters: KernelParameters,
  shapeTemplate: Record<string, number> = {},
): number {
  if (parameters.layout !== "workgroup-tiles") return 0;
  const t: Record<string, number> = { ...parameters.template, ...shapeTemplate };
  const value = (name: string) => {
    const v = t[name];
    if (v === undefined) {
      throw new KernelBuildError(`kernel ${kernel}: template value ${name} is missing`);
    }
    return v;
  };
  const vec4Bytes = 16;
  switch (kernel) {
    case "projection":
    case "scores":
    case "weighted_values": { // a tile of rows and one of columns (keys), TILE_INNER vec4 deep
      const colBlocks = value(kernel === "scores" ? "KEY_BLOCKS" : "COL_BLOCKS");
      return vec4Bytes * value("TILE_INNER") *
        (4 * value("ROW_BLOCKS") * value("ROW_LANES") + 4 * colBlocks * value("COL_LANES"));
    }
    case "flash_attention":
      return vec4Bytes * 2 * value("TILE_KEYS") * value("HEAD_BLOCKS");
    default:
      return 0;
  }
}

/**
 * What is wrong with a workgroup-tile layout's sizes that its WGSL relies on, or null: the lanes
 * must make the workgroup, and flash attention's tile must hold whole steps.
 */
export function tileSizesProblem(kernel: KernelId, parameters: KernelParameters): string | null {
  if (parameters.layout !== "workgroup-tiles") return null;
  const t = parameters.template;
  if (t.ROW_LANES !== undefined && t.ROW_LANES * (t.COL_LANES ?? 1) !== parameters.workgroupSize) {
    return `kernel ${kernel}: ROW_LANES × COL_LANES = ${t.ROW_LANES * (t.COL_LANES ?? 1)} is ` +
      `not the workgroup size ${parameters.workgroupSize}`;
  }
  if (kernel === "flash_attention" && t.TILE_KEYS! % (4 * t.KEY_BLOCKS!) !== 0) {
    return `kernel flash_attention: TILE_KEYS ${t.TILE_KEYS} is not a multiple of 4·KEY_BLOCKS`;
  }
  return null;
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
  const layout = parameters.layout ?? "registers";
  const layoutSource = kernel.layouts[layout];
  if (layoutSource === undefined) {
    throw new KernelBuildError(`kernel ${kernel.id} has no ${layout} layout`);
  }
  const given: Record<string, number> = { ...parameters.template, ...shapeTemplate };
  // only the values the kernel uses: they key the cache, so a kernel is compiled once per value set
  const template: Record<string, number> = {};
  for (const name of layoutSource.templateNames) {
    const value = given[name];
    if (value === undefined) {
      throw new KernelBuildError(`kernel ${kernel.id}: template value ${name} is missing`);
    }
    template[name] = value;
  }
  const problem = tileSizesProblem(kernel.id, { ...parameters, template });
  if (problem !== null) throw new KernelBuildError(problem);
  const prelude = kernel.usesPrecision ? PRECISION_PRELUDES[precision] : "";
  const stored = kernel.usesPrecision ? precision : "";
  const key = JSON.stringify([kernel.id, layout, parameters.workgroupSize, template, stored]);
  let cache = _pipelineCache.get(device);
  if (cache === undefined) _pipelineCache.set(device, cache = new Map());
  let pipeline = cache.get(key);
  if (pipeline === undefined) {
    pipeline = createComputePipeline(device, {
      label: `${kernel.id} ${layout} ${stored && `${stored} `}${
        JSON.stringify(template)
      } wg${parameters.workgroupSize}`,
      code: prelude + expandWgslTemplate(kernelSource(kernel, layout), template),
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
