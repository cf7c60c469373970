/**
 * The attention part of the naive backward on the GPU: the textbook stages on the probabilities P
 * that the naive forward stored, window by window, in the forward's layout
 * (kernels/score_window.wgsl; kernels/naive_backward_*.wgsl):
 *
 * 1. `ds`: dS = P ⊙ (dP − D)/√d_k with dP = dO·Vᵀ, into windows shaped like the forward's (O(n²)
 *    bytes more: the naive backward's `scores` class holds P and dS);
 * 2. `dq`: dQ = dS·K;
 * 3. `dkdv`: dV = Pᵀ·dO, dK = dSᵀ·Q, added over windows and over the heads of a kv head.
 *
 * D = rowsum(dO ⊙ O) comes from the fused backward's row_dot kernel (src/gpu/flash_backward.ts).
 * Every configuration the naive forward runs: batch (slabs), grouped-query heads, every mask.
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
import { maskBounds, scoreRowVecs } from "./mask_bounds.ts";
import type { ScoreWindow } from "./plan.ts";
import { expandWgslTemplate, resolveWgslIncludes } from "./wgsl_template.ts";
import commonWgsl from "../../kernels/naive_backward_common.wgsl" with { type: "text" };
import dsWgsl from "../../kernels/naive_backward_ds.wgsl" with { type: "text" };
import dqWgsl from "../../kernels/naive_backward_dq.wgsl" with { type: "text" };
import dkdvWgsl from "../../kernels/naive_backward_dkdv.wgsl" with { type: "text" };

/** The buffers of the naive backward's kernels; `probabilities` and `dScores`: one per window. */
export interface NaiveBackwardBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  dO: GPUBuffer;
  rowDot: GPUBuffer;
  probabilities: GPUBuffer[];
  dScores: GPUBuffer[];
  grads: GPUBuffer;
}

/** Bindings each kernel declares (layout "auto" drops the others; masked_load reads P and dS). */
const KERNELS = {
  ds: { source: dsWgsl, bindings: ["v", "dO", "rowDot", "probabilities", "dScores"] },
  dq: { source: dqWgsl, bindings: ["k", "probabilities", "dScores", "grads"] },
  dkdv: { source: dkdvWgsl, bindings: ["q", "dO", "probabilities", "dScores", "grads"] },
} as const;

type KernelName = keyof typeof KERNELS;

/** Binding numbers in naive_backward_common.wgsl. */
const BINDINGS: Record<keyof NaiveBackwardBuffers, number> = {
  q: 1,
  k: 2,
  v: 3,
  dO: 4,
  rowDot: 5,
  probabilities: 6,
  dScores: 7,
  grads: 8,
};

/** Keys per ds invocation, in fours. */
const KEY_BLOCKS = 2;
const WORKGROUP_SIZE = 8;
/** Uniform slots are this many bytes apart (WebGPU's largest minUniformBufferOffsetAlignment). */
const PARAMS_STRIDE = 256;

/** The three pipelines of one shape and precision, and their dispatches over the windows. */
export class NaiveBackward {
  static readonly KERNEL_NAMES: readonly KernelName[] = ["ds", "dq", "dkdv"];
  readonly #device: GPUDevice;
  readonly #pipelines: Record<KernelName, GPUComputePipeline>;
  readonly #params: GPUBuffer;
  readonly #windows: readonly ScoreWindow[];
  readonly #shape: ReturnType<typeof resolveShape>;

  private constructor(
    device: GPUDevice,
    pipelines: Record<KernelName, GPUComputePipeline>,
    params: GPUBuffer,
    windows: readonly ScoreWindow[],
    shape: AttentionShape,
  ) {
    this.#device = device;
    this.#pipelines = pipelines;
    this.#params = params;
    this.#windows = windows;
    this.#shape = resolveShape(shape);
  }

  /** Build the pipelines and write one Params slot per window. */
  static async create(
    device: GPUDevice,
    shape: AttentionShape,
    windows: readonly ScoreWindow[],
    options: {
      precision?: Precision;
      createBuffer?: (descriptor: GPUBufferDescriptor) => GPUBuffer;
    } = {},
  ): Promise<NaiveBackward> {
    const s = resolveShape(shape), dK = headWidth(s), precision = options.precision ?? "f32";
    const template = { HEAD_BLOCKS: dK / 4, KEY_BLOCKS };
    const build = (name: KernelName) =>
      createComputePipeline(device, {
        label: `naive_backward ${name} ${precision} ${JSON.stringify(template)}`,
        code: PRECISION_PRELUDES[precision] +
          expandWgslTemplate(
            resolveWgslIncludes(commonWgsl + "\n" + KERNELS[name].source, WGSL_FILES),
            template,
          ),
        entryPoint: "main",
        constants: { WORKGROUP_SIZE },
      });
    const [ds, dq, dkdv] = await Promise.all(NaiveBackward.KERNEL_NAMES.map(build));
    const createBuffer = options.createBuffer ?? ((d) => device.createBuffer(d));
    const params = createBuffer({
      label: "naive_backward params",
      size: Math.max(1, windows.length) * PARAMS_STRIDE,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const words = new Uint32Array(Math.max(1, windows.length) * PARAMS_STRIDE / 4);
    const { ahead, behind } = maskBounds(s);
    windows.forEach((w, slot) => {
      const at = slot * PARAMS_STRIDE / 4;
      // kernels/score_window.wgsl's Params, as the forward's kernels read this window
      words.set([
        s.seqLen,
        ahead,
        behind,
        scoreRowVecs(s),
        s.dModel / 4,
        kvWidth(s) / 4,
        dK / 4,
        s.heads,
        s.heads / s.kvHeads,
        w.firstSlab,
        w.firstRow,
        w.rows,
        w.slabs,
      ], at);
      new Float32Array(words.buffer)[at + 13] = 1 / Math.sqrt(dK);
    });
    device.queue.writeBuffer(params, 0, words);
    return new NaiveBackward(device, { ds: ds!, dq: dq!, dkdv: dkdv! }, params, windows, shape);
  }

  /** Record one kernel's dispatches, one per window in order, into a compute pass. */
  dispatch(pass: GPUComputePassEncoder, kernel: KernelName, buffers: NaiveBackwardBuffers): void {
    const pipeline = this.#pipelines[kernel], s = this.#shape;
    const nPad4 = Math.ceil(s.seqLen / 4);
    this.#windows.forEach((w, index) => {
      const buffer = (name: keyof NaiveBackwardBuffers) => {
        const value = buffers[name];
        return Array.isArray(value) ? value[index]! : value as GPUBuffer;
      };
      pass.setPipeline(pipeline);
      pass.setBindGroup(
        0,
        this.#device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            {
              binding: 0,
              resource: { buffer: this.#params, offset: index * PARAMS_STRIDE, size: 64 },
            },
            ...KERNELS[kernel].bindings.map((name) => ({
              binding: BINDINGS[name],
              resource: { buffer: buffer(name) },
            })),
          ],
        }),
      );
      const grids: Record<KernelName, [number, number, number]> = {
        ds: [Math.ceil(nPad4 / (KEY_BLOCKS * WORKGROUP_SIZE)), Math.ceil(w.rows / 4), w.slabs],
        dq: [Math.ceil(w.rows / (4 * WORKGROUP_SIZE)), w.slabs, 1],
        dkdv: [Math.ceil(nPad4 / WORKGROUP_SIZE), s.kvHeads, s.batch],
      };
      pass.dispatchWorkgroups(...grids[kernel]);
    });
  }
}
