/**
 * The attention part of the fused (FlashAttention-2 style) backward on the GPU: three kernels
 * (kernels/flash_backward_*.wgsl) that turn q, k, v, the attention output O (concat), its upstream
 * gradient dO (dConcat) and the forward's log-sum-exp per row (written by the fused forward,
 * kernels/flash_epilogue.wgsl) into dQ, dK and dV, in O(n) memory.
 *
 * 1. `row_dot`: D = rowsum(dO ⊙ O) per query row and head;
 * 2. `kv`: per key block of a kv head, dK and dV over the query blocks of every query head reading it;
 * 3. `q`: per query block of a head, dQ over the key blocks.
 *
 * Buffers (row-major, `Stored` elements unless said): q, o, dO [batch·n, dModel]; k, v
 * [batch·n, kvHeads·dK]; lse and rowDot f32 [batch, heads, n]; grads [batch·n, w3] with
 * w3 = dModel + 2·kvHeads·dK: dQ, dK, dV side by side.
 *
 * @module
 */

import { type AttentionShape, headWidth, kvWidth, resolveShape } from "../shape.ts";
import {
  createComputePipeline,
  type Precision,
  PRECISION_PRELUDES,
  WGSL_FILES,
} from "./kernels.ts";
import { maskBounds } from "./mask_bounds.ts";
import { expandWgslTemplate, resolveWgslIncludes } from "./wgsl_template.ts";
import commonWgsl from "../../kernels/flash_backward_common.wgsl" with { type: "text" };
import rowDotWgsl from "../../kernels/flash_backward_row_dot.wgsl" with { type: "text" };
import kvWgsl from "../../kernels/flash_backward_kv.wgsl" with { type: "text" };
import qWgsl from "../../kernels/flash_backward_q.wgsl" with { type: "text" };

/** The buffers the three kernels read and write. */
export interface FlashBackwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** the attention output (heads concatenated) */
  o: GPUBuffer;
  /** its upstream gradient */
  dO: GPUBuffer;
  /** f32 [batch, heads, n]: the log-sum-exp of each row's scaled scores, from the forward */
  lse: GPUBuffer;
  /** f32 [batch, heads, n]: D, written by the first kernel */
  rowDot: GPUBuffer;
  /** [batch·n, w3]: dQ | dK | dV */
  grads: GPUBuffer;
}

/** Register blocks and workgroup size of one of the kv and q kernels. */
export interface FlashBackwardBlocks {
  workgroupSize: number;
  /** queries per step (kv) or owned (q), in fours */
  queryBlocks: number;
  /** keys owned (kv) or per step (q), in fours */
  keyBlocks: number;
}

/** The blocks of the kv and the q kernel. */
export type FlashBackwardParameters = Record<"kv" | "q", FlashBackwardBlocks>;

/** One block of four keys or queries of each kind per invocation. */
const ONE_BLOCK: FlashBackwardBlocks = { workgroupSize: 8, queryBlocks: 1, keyBlocks: 1 };

/**
 * Software (lavapipe) parameters by head width, the first whose `maxHeadWidth` ≥ d_k: one SIMD
 * group (8 lanes) per workgroup. Up to d_k = 64 each invocation owns 16 keys (kv) or 16 queries
 * (q), like the forward's flash kernel, so every row it loads serves four register blocks: on a
 * 2-core EPYC at n = 4096, d_k = 64 the kv and q kernels ran 2.5× and 2.9× faster than with one
 * block each (3289 → 1333 ms, 2859 → 974 ms; the whole backward's rate: bench/gpu_backward.ts),
 * and compiled in < 1 s. Wider heads keep one block: at d_k = 128 lavapipe took 64 s to compile
 * the one-block kv kernel and 294 s with two.
 */
const SOFTWARE_PARAMETERS: readonly {
  maxHeadWidth: number;
  parameters: FlashBackwardParameters;
}[] = [
  {
    maxHeadWidth: 64,
    parameters: {
      kv: { workgroupSize: 8, queryBlocks: 1, keyBlocks: 4 },
      q: { workgroupSize: 8, queryBlocks: 4, keyBlocks: 1 },
    },
  },
  { maxHeadWidth: Infinity, parameters: { kv: ONE_BLOCK, q: ONE_BLOCK } },
];

/** The software parameters for heads of d_k values. */
function softwareFlashBackwardParameters(dK: number): FlashBackwardParameters {
  return SOFTWARE_PARAMETERS.find(({ maxHeadWidth }) => dK <= maxHeadWidth)!.parameters;
}

/** Bindings each kernel declares (layout "auto" drops the others). */
const KERNELS = {
  row_dot: { source: rowDotWgsl, bindings: ["o", "dO", "rowDot"] },
  kv: { source: kvWgsl, bindings: ["q", "k", "v", "dO", "lse", "rowDot", "grads"] },
  q: { source: qWgsl, bindings: ["q", "k", "v", "dO", "lse", "rowDot", "grads"] },
} as const;

/** Buffer → its binding number in flash_backward_common.wgsl. */
const BINDINGS: Record<keyof FlashBackwardBuffers, number> = {
  q: 1,
  k: 2,
  v: 3,
  o: 4,
  dO: 5,
  lse: 6,
  rowDot: 7,
  grads: 8,
};

/** Bytes of the Params uniform (9 words, rounded up to 16). */
const PARAMS_BYTES = 48;

/** A kernel of the fused backward. */
export type KernelName = keyof typeof KERNELS;

/** The three pipelines of one shape and precision, and the dispatches of one backward. */
export class FlashBackward {
  readonly #device: GPUDevice;
  readonly #pipelines: Record<KernelName, GPUComputePipeline>;
  readonly #params: GPUBuffer;
  readonly #grids: Record<KernelName, [number, number, number]>;

  private constructor(
    device: GPUDevice,
    pipelines: Record<KernelName, GPUComputePipeline>,
    params: GPUBuffer,
    grids: Record<KernelName, [number, number, number]>,
  ) {
    this.#device = device;
    this.#pipelines = pipelines;
    this.#params = params;
    this.#grids = grids;
  }

  /**
   * Build the pipelines for a shape (d_k a multiple of 4) and write its Params. `createBuffer`
   * makes the uniform buffer, so a caller can count it (a BufferTracker's `create`).
   */
  static async create(
    device: GPUDevice,
    shape: AttentionShape,
    options: {
      precision?: Precision;
      parameters?: FlashBackwardParameters;
      createBuffer?: (descriptor: GPUBufferDescriptor) => GPUBuffer;
      /** the kernels to build (default: all) */
      kernels?: readonly KernelName[];
    } = {},
  ): Promise<FlashBackward> {
    const s = resolveShape(shape), dK = headWidth(s);
    if (dK % 4 !== 0) throw new RangeError(`d_k ${dK} is not a multiple of 4`);
    const precision = options.precision ?? "f32";
    // row_dot: one row per invocation (its template sizes are unused)
    const blocks = {
      row_dot: ONE_BLOCK,
      ...(options.parameters ?? softwareFlashBackwardParameters(dK)),
    };
    const build = (name: KernelName) => {
      const b = blocks[name];
      const template = {
        HEAD_BLOCKS: dK / 4,
        QUERY_BLOCKS: b.queryBlocks,
        KEY_BLOCKS: b.keyBlocks,
      };
      return createComputePipeline(device, {
        label: `flash_backward ${name} ${precision} ${
          JSON.stringify(template)
        } wg${b.workgroupSize}`,
        code: PRECISION_PRELUDES[precision] +
          expandWgslTemplate(
            resolveWgslIncludes(commonWgsl + "\n" + KERNELS[name].source, WGSL_FILES),
            template,
          ),
        entryPoint: "main",
        constants: { WORKGROUP_SIZE: b.workgroupSize },
      });
    };
    const names = options.kernels ?? FlashBackward.KERNEL_NAMES;
    const built = await Promise.all(names.map(async (name) => [name, await build(name)] as const));
    const pipelines = Object.fromEntries(built) as Record<KernelName, GPUComputePipeline>;
    const createBuffer = options.createBuffer ?? ((d) => device.createBuffer(d));
    const params = createBuffer({
      label: "flash_backward params",
      size: PARAMS_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const words = new Uint32Array(PARAMS_BYTES / 4);
    const kvw = kvWidth(s);
    words.set([
      s.seqLen,
      s.heads,
      s.heads / s.kvHeads,
      s.dModel / 4,
      kvw / 4,
      (s.dModel + 2 * kvw) / 4,
    ]);
    new Float32Array(words.buffer)[6] = 1 / Math.sqrt(dK);
    const { ahead, behind } = maskBounds(s);
    words[7] = ahead;
    words[8] = behind;
    device.queue.writeBuffer(params, 0, words);
    const workgroups = (rowsPerInvocation: number, b: FlashBackwardBlocks) =>
      Math.ceil(s.seqLen / (rowsPerInvocation * b.workgroupSize));
    const grids: Record<KernelName, [number, number, number]> = {
      row_dot: [workgroups(1, blocks.row_dot), s.heads, s.batch],
      kv: [workgroups(4 * blocks.kv.keyBlocks, blocks.kv), s.kvHeads, s.batch],
      q: [workgroups(4 * blocks.q.queryBlocks, blocks.q), s.heads, s.batch],
    };
    return new FlashBackward(device, pipelines, params, grids);
  }

  /** The kernels in dispatch order. */
  static readonly KERNEL_NAMES: readonly KernelName[] = ["row_dot", "kv", "q"];

  /** Record one kernel's dispatch into a compute pass. */
  dispatch(pass: GPUComputePassEncoder, kernel: KernelName, buffers: FlashBackwardBuffers): void {
    const pipeline = this.#pipelines[kernel];
    const bindGroup = this.#device.createBindGroup({
      label: `flash_backward ${kernel}`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.#params } },
        ...KERNELS[kernel].bindings.map((name) => ({
          binding: BINDINGS[name],
          resource: { buffer: buffers[name] },
        })),
      ],
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...this.#grids[kernel]);
  }
}
