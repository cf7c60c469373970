/**
 * The CPU path's stages one at a time, on one thread: the same WebAssembly kernels the workers run
 * (packB + gemm, softmaxRows), called in order on a private memory so each stage can be timed
 * apart. Used by the benchmarks (per-stage cases) and by calibration (the CPU's matmul GFLOP/s).
 *
 * The workers fuse scores, softmax and weighted values per strip of rows; here each stage runs
 * over all heads before the next starts, with one head's n×n score matrix reused by every head, so
 * the memory stays O(n²) for one head (64 MiB at n = 4096).
 *
 * @module
 */

import type { StageName } from "../flops.ts";
import type { AttentionShape } from "../shape.ts";
import {
  type AttentionKernels,
  compileKernelModule,
  instantiateKernels,
} from "./attention_kernels.ts";
import { packedBFloats, TILE_FLOATS } from "./matmul.ts";

const F32_BYTES = 4;
const PAGE_BYTES = 65536;

/**
 * One shape's buffers and kernels, ready to run any stage.
 *
 * @example
 * ```ts
 * const stages = CpuStages.create({ seqLen: 64, dModel: 64, heads: 4 });
 * stages.run("projection_qkv");
 * ```
 */
export class CpuStages {
  readonly shape: AttentionShape;
  readonly #kernels: AttentionKernels;
  readonly #address: Record<string, number>;

  private constructor(
    shape: AttentionShape,
    kernels: AttentionKernels,
    address: Record<string, number>,
  ) {
    this.shape = shape;
    this.#kernels = kernels;
    this.#address = address;
  }

  /** Allocate and fill (seeded values in [-0.5, 0.5)) every buffer of the stages at this shape. */
  static create(shape: AttentionShape, module = compileKernelModule()): CpuStages {
    const { seqLen: n, dModel: d, heads } = shape;
    const dK = d / heads;
    const floats: [string, number][] = [
      ["x", n * d],
      ["wQkv", d * 3 * d],
      ["bQkv", 3 * d],
      ["packedQkv", packedBFloats(d, 3 * d)],
      ["qkv", n * 3 * d],
      ["packedKeys", packedBFloats(dK, n)],
      ["scores", n * n],
      ["packedValues", packedBFloats(n, dK)],
      ["concat", n * d],
      ["wO", d * d],
      ["bO", d],
      ["packedO", packedBFloats(d, d)],
      ["out", n * d],
      ["tile", TILE_FLOATS],
    ];
    const address: Record<string, number> = {};
    let offset = 64;
    for (const [name, count] of floats) {
      address[name] = offset;
      offset += Math.ceil((count * F32_BYTES) / 64) * 64;
    }
    const pages = Math.ceil(offset / PAGE_BYTES);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const view = new Float32Array(memory.buffer);
    for (let i = 0; i < view.length; i++) view[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    return new CpuStages(shape, instantiateKernels(module, memory), address);
  }

  /** Run one stage over every head (softmax over one head's scores, once per head). */
  run(stage: StageName): void {
    const { seqLen: n, dModel: d, heads } = this.shape;
    const dK = d / heads;
    const k = this.#kernels, a = this.#address as Record<string, number> & Record<"x", number>;
    const at = (name: string, floats = 0) => a[name]! + floats * F32_BYTES;
    const tile = at("tile");
    switch (stage) {
      case "projection_qkv":
        k.packB(at("wQkv"), 3 * d, 0, d, 3 * d, at("packedQkv"));
        k.gemm(
          n,
          3 * d,
          d,
          at("x"),
          d,
          at("packedQkv"),
          d,
          at("qkv"),
          3 * d,
          at("bQkv"),
          1,
          0,
          tile,
        );
        return;
      case "scores":
        for (let h = 0; h < heads; h++) {
          // keys of head h, transposed: B[kk][j] = k[j][h·d_k + kk]
          k.packB(at("qkv", d + h * dK), 3 * d, 1, dK, n, at("packedKeys"));
          k.gemm(
            n,
            n,
            dK,
            at("qkv", h * dK),
            3 * d,
            at("packedKeys"),
            dK,
            at("scores"),
            n,
            0,
            1 / Math.sqrt(dK),
            0,
            tile,
          );
        }
        return;
      case "softmax":
        for (let h = 0; h < heads; h++) k.softmaxRows(at("scores"), n, n, n);
        return;
      case "weighted_values":
        for (let h = 0; h < heads; h++) {
          k.packB(at("qkv", 2 * d + h * dK), 3 * d, 0, n, dK, at("packedValues"));
          k.gemm(
            n,
            dK,
            n,
            at("scores"),
            n,
            at("packedValues"),
            n,
            at("concat", h * dK),
            d,
            0,
            1,
            0,
            tile,
          );
        }
        return;
      case "output_projection":
        k.packB(at("wO"), d, 0, d, d, at("packedO"));
        k.gemm(n, d, d, at("concat"), d, at("packedO"), d, at("out"), d, at("bO"), 1, 0, tile);
        return;
    }
  }
}

/**
 * The CPU path's matmul GFLOP/s on one thread: the best of `repeat` timed runs of the projection
 * stage (packing included) at n rows × d_model × 3·d_model, 2 FLOPs per multiply-accumulate.
 */
export function cpuMatmulGflops(
  shape: AttentionShape = { seqLen: 1024, dModel: 512, heads: 8 },
  repeat = 5,
): number {
  const stages = CpuStages.create(shape);
  stages.run("projection_qkv"); // warm-up: V8 tiers the kernels up
  stages.run("projection_qkv");
  let bestMs = Infinity;
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    stages.run("projection_qkv");
    bestMs = Math.min(bestMs, performance.now() - start);
  }
  const flops = 2 * 3 * shape.seqLen * shape.dModel * shape.dModel; // 2 FLOPs per MAC
  return flops / (bestMs * 1e6);
}
