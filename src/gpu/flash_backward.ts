/**
 * The attention part of the fused (FlashAttention-2 style) backward on the GPU: three kernels
 * (kernels/flash_backward_*.wgsl) that turn q, k, v, the attention output O (concat), its upstream
 * gradient dO (dConcat) and the forward's log-sum-exp per row into dQ, dK and dV, in O(n) memory.
 *
 * 0. `lse`: each row's log-sum-exp, which the forward kernel does not keep (recomputed from q, k);
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
import lseWgsl from "../../kernels/flash_backward_lse.wgsl" with { type: "text" };

/** The buffers the three kernels read and write. */
export interface FlashBackwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** the attention output (heads concatenated) */
  o: GPUBuffer;
  /** its upstream gradient */
  dO: GPUBuffer;
  /** f32 [batch, heads, n]: the log-sum-exp of each row's scaled scores, written by `lse` */
  lse: GPUBuffer;
  /** f32 [batch, heads, n]: D, written by the first kernel */
  rowDot: GPUBuffer;
  /** [batch·n, w3]: dQ | dK | dV */
  grads: GPUBuffer;
}

/** Register blocks and workgroup size of the kv and q kernels. */
export interface FlashBackwardParameters {
  workgroupSize: number;
  /** queries per step (kv) or owned (q), in fours */
  queryBlocks: number;
  /** keys owned (kv) or per step (q), in fours */
  keyBlocks: number;
}

/**
 * Software (lavapipe): one SIMD group per workgroup, one block of four keys (kv) or queries (q) of
 * registers per invocation; d_k = 64 keeps ~100 mat4x4 live, like the forward's flash kernel.
 */
export const FLASH_BACKWARD_SOFTWARE: FlashBackwardParameters = {
  workgroupSize: 8,
  queryBlocks: 1,
  keyBlocks: 1,
};

/** Bindings each kernel declares (layout "auto" drops the others). */
const KERNELS = {
  lse: { source: lseWgsl, bindings: ["q", "k", "lseOut"] },
  row_dot: { source: rowDotWgsl, bindings: ["o", "dO", "rowDot"] },
  kv: { source: kvWgsl, bindings: ["q", "k", "v", "dO", "lse", "rowDot", "grads"] },
  q: { source: qWgsl, bindings: ["q", "k", "v", "dO", "lse", "rowDot", "grads"] },
} as const;

/** Buffer → its binding number in flash_backward_common.wgsl (`lseOut`: lse, written). */
const BINDINGS: Record<keyof FlashBackwardBuffers | "lseOut", number> = {
  q: 1,
  k: 2,
  v: 3,
  o: 4,
  dO: 5,
  lse: 6,
  rowDot: 7,
  grads: 8,
  lseOut: 9,
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
    const p = options.parameters ?? FLASH_BACKWARD_SOFTWARE, precision = options.precision ?? "f32";
    const template = { HEAD_BLOCKS: dK / 4, QUERY_BLOCKS: p.queryBlocks, KEY_BLOCKS: p.keyBlocks };
    const build = (name: KernelName) =>
      createComputePipeline(device, {
        label: `flash_backward ${name} ${precision} ${
          JSON.stringify(template)
        } wg${p.workgroupSize}`,
        code: PRECISION_PRELUDES[precision] +
          expandWgslTemplate(
            resolveWgslIncludes(commonWgsl + "\n" + KERNELS[name].source, WGSL_FILES),
            template,
          ),
        entryPoint: "main",
        constants: { WORKGROUP_SIZE: p.workgroupSize },
      });
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
    const invocations = (rows: number, perInvocation: number) =>
      Math.ceil(rows / (perInvocation * p.workgroupSize));
    const grids: Record<KernelName, [number, number, number]> = {
      lse: [invocations(s.seqLen, 4 * p.queryBlocks), s.heads, s.batch],
      row_dot: [invocations(s.seqLen, 1), s.heads, s.batch],
      kv: [invocations(s.seqLen, 4 * p.keyBlocks), s.kvHeads, s.batch],
      q: [invocations(s.seqLen, 4 * p.queryBlocks), s.heads, s.batch],
    };
    return new FlashBackward(device, pipelines, params, grids);
  }

  /** The kernels in dispatch order. */
  static readonly KERNEL_NAMES: readonly KernelName[] = ["lse", "row_dot", "kv", "q"];

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
          resource: { buffer: buffers[name === "lseOut" ? "lse" : name] },
        })),
      ],
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...this.#grids[kernel]);
  }
}
