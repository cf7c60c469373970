/**
 * The fused GPU backward: the log-sum-exp its forward writes, its attention kernels
 * (flash_backward_*.wgsl: dQ, dK, dV) and the whole backward (every gradient) against the float64 oracle, from the
 * oracle's activations rounded to f32, at awkward lengths with batch, grouped-query heads and
 * masks; and through the profile (`--pass backward`) against the CPU path. Skipped without a
 * native adapter unless CI=true.
 */

import assert from "node:assert/strict";
import { oracleBackward } from "../src/gpu/backward_oracle.ts";
import type { GpuContext } from "../src/gpu/device.ts";
import { IN_CI, openTestGpu } from "./test_gpu.ts";
import {
  FlashBackward,
  type FlashBackwardBuffers,
  type FlashBackwardParameters,
} from "../src/gpu/flash_backward.ts";
import { GpuBackward } from "../src/gpu/gpu_backward.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { type AttentionGradients, GRADIENTS } from "../src/gradients.ts";
import { compareGradients } from "../src/gpu/gradient_validation.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";
import type { Precision, TuningName } from "../src/gpu/kernels.ts";
import { type AttentionShape, kvWidth, resolveShape } from "../src/shape.ts";
import { generateInputs, generateUpstreamGradient } from "../src/random.ts";
import { DEFAULT_CONFIG, type ProfileConfig } from "../src/config.ts";
import { SEED_GRID } from "../src/configuration.ts";
import { runProfile } from "../src/profile.ts";
import { QuietProgress } from "../src/progress.ts";
import { VARIANTS } from "../src/variants/registry.ts";

const GPU = await openTestGpu("the backward's GPU tests");
globalThis.addEventListener("unload", () => GPU?.destroy());

function gpuTest(name: string, fn: (gpu: GpuContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: GPU === null && !IN_CI,
    async fn() {
      if (GPU === null) throw new Error("CI=true but WebGPU found no native GPU adapter");
      await fn(GPU);
    },
  });
}

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** [rows, width] columns [first, first + count) of a row-major matrix. */
function columns(matrix: Float32Array, width: number, first: number, count: number): Float32Array {
  const rows = matrix.length / width, out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) {
    out.set(matrix.subarray(r * width + first, r * width + first + count), r * count);
  }
  return out;
}

async function runKernels(
  gpu: GpuContext,
  shape: AttentionShape,
  seed: number,
  parameters?: FlashBackwardParameters,
) {
  const device = gpu.device;
  const inputs = generateInputs(shape, seed);
  const dOut = generateUpstreamGradient(shape, seed);
  const oracle = oracleBackward(inputs, dOut);
  const s = resolveShape(shape), rows = s.batch * s.seqLen;
  const w3 = s.dModel + 2 * kvWidth(s);
  const upload = (values: ArrayLike<number>, label: string, extraUsage = 0) => {
    const buffer = device.createBuffer({
      label,
      size: Math.max(16, values.length * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extraUsage,
    });
    device.queue.writeBuffer(buffer, 0, Float32Array.from(values));
    return buffer;
  };
  const a = oracle.activations;
  const buffers: FlashBackwardBuffers = {
    q: upload(a.q, "q"),
    k: upload(a.k, "k"),
    v: upload(a.v, "v"),
    o: upload(a.concat, "o"),
    dO: upload(oracle.attention.dConcat, "dO"),
    lse: upload(a.logSumExp, "lse"),
    rowDot: upload(new Float32Array(s.batch * s.heads * s.seqLen).fill(NaN), "rowDot"),
    grads: upload(new Float32Array(rows * w3).fill(NaN), "grads", GPUBufferUsage.COPY_SRC),
  };
  const flash = await FlashBackward.create(device, shape, { parameters });
  const encoder = device.createCommandEncoder();
  for (const kernel of FlashBackward.KERNEL_NAMES) {
    const pass = encoder.beginComputePass();
    flash.dispatch(pass, kernel, buffers);
    pass.end();
  }
  const readback = device.createBuffer({
    size: rows * w3 * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  encoder.copyBufferToBuffer(buffers.grads, 0, readback, 0, rows * w3 * 4);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const grads = new Float32Array(readback.getMappedRange().slice(0));
  readback.destroy();
  for (const buffer of Object.values(buffers)) buffer.destroy();
  const kvw = kvWidth(s);
  return {
    oracle,
    dq: columns(grads, w3, 0, s.dModel),
    dk: columns(grads, w3, s.dModel, kvw),
    dv: columns(grads, w3, s.dModel + kvw, kvw),
  };
}

gpuTest("FlashBackward's kernels give dQ, dK, dV of the float64 oracle", async (gpu) => {
  const seed = freshSeed();
  const shapes: AttentionShape[] = [];
  for (const seqLen of [1, 5, 13]) {
    for (const mask of ["full", "causal"] as const) {
      for (const kvHeads of [1, 2]) shapes.push({ seqLen, dModel: 16, heads: 2, kvHeads, mask });
    }
  }
  shapes.push({ seqLen: 9, dModel: 32, heads: 4, kvHeads: 2, batch: 3, mask: "causal" });
  shapes.push({ seqLen: 11, dModel: 16, heads: 2, mask: "sliding", window: 3 });
  // one block per invocation, and blocks of each kind unequal (the default: 4 keys × 1 queries
  // for kv, the reverse for q) over lengths that end inside a workgroup's block
  const one = { workgroupSize: 8, queryBlocks: 1, keyBlocks: 1 };
  const cases: [AttentionShape, FlashBackwardParameters | undefined][] = [
    ...shapes.map((shape) => [shape, undefined] as [AttentionShape, undefined]),
    [{ seqLen: 45, dModel: 16, heads: 2, kvHeads: 1, mask: "causal" }, { kv: one, q: one }],
    [{ seqLen: 150, dModel: 32, heads: 4, kvHeads: 2, mask: "causal" }, undefined],
    [{ seqLen: 77, dModel: 16, heads: 2, mask: "sliding", window: 20 }, {
      kv: { workgroupSize: 4, queryBlocks: 2, keyBlocks: 3 },
      q: { workgroupSize: 2, queryBlocks: 3, keyBlocks: 2 },
    }],
  ];
  for (const [shape, parameters] of cases) {
    const { oracle, dq, dk, dv } = await runKernels(gpu, shape, seed, parameters);
    const want = oracle.attention;
    for (
      const [name, got, expected] of [["dq", dq, want.dq], ["dk", dk, want.dk], [
        "dv",
        dv,
        want.dv,
      ]] as const
    ) {
      const result = compareOutputs(got, Float32Array.from(expected), GPU_TOLERANCES.f32);
      assert.ok(
        result.passed,
        `${JSON.stringify(shape)} ${JSON.stringify(parameters)}, seed ${seed}: ${name} ${
          JSON.stringify(result)
        }`,
      );
    }
  }
});

/** A GPU buffer's bytes as f32, copied through a staging buffer. */
async function readF32(device: GPUDevice, buffer: GPUBuffer): Promise<Float32Array> {
  const staging = device.createBuffer({
    size: buffer.size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

gpuTest("the fused forward writes each row's log-sum-exp for its backward", async (gpu) => {
  const seed = freshSeed();
  const cases: [AttentionShape, TuningName][] = [
    [{ seqLen: 13, dModel: 16, heads: 2, kvHeads: 1, mask: "causal" }, "hardware"],
    [{ seqLen: 9, dModel: 32, heads: 4, kvHeads: 2, batch: 3 }, "hardware"],
    [{ seqLen: 70, dModel: 16, heads: 4, mask: "sliding", window: 5 }, "software"],
  ];
  for (const [shape, tuning] of cases) {
    const inputs = generateInputs(shape, seed);
    const forward = await GpuAttention.create(gpu, "fused", shape, { tuning });
    try {
      await forward.upload(inputs);
      await forward.forward();
      const lse = forward.keptBuffers().lse;
      assert.ok(lse, "the fused forward keeps no log-sum-exp buffer");
      const want = oracleBackward(inputs, generateUpstreamGradient(shape, seed)).activations;
      const got = (await readF32(gpu.device, lse)).subarray(0, want.logSumExp.length);
      const result = compareOutputs(got, Float32Array.from(want.logSumExp), 1e-5);
      assert.ok(result.passed, `${JSON.stringify(shape)}, seed ${seed}: ${JSON.stringify(result)}`);
    } finally {
      forward.destroy();
    }
  }
});

/**
 * Every gradient of GpuBackward against the oracle's, from the oracle's activations. The
 * projection runs with the `hardware` parameters (row-major weights, small blocks: lavapipe
 * compiles them in seconds) except in one case with the `software` ones (weights in panels).
 */
async function checkFusedBackward(
  gpu: GpuContext,
  shape: AttentionShape,
  seed: number,
  options: { precision: Precision; tuning: TuningName },
): Promise<void> {
  const inputs = generateInputs(shape, seed), dOut = generateUpstreamGradient(shape, seed);
  const oracle = oracleBackward(inputs, dOut), a = oracle.activations;
  const backward = await GpuBackward.create(gpu, "fused", shape, options);
  try {
    await backward.upload(inputs, dOut, {
      q: Float32Array.from(a.q),
      k: Float32Array.from(a.k),
      v: Float32Array.from(a.v),
      concat: Float32Array.from(a.concat),
      lse: Float32Array.from(a.logSumExp),
    });
    await backward.backward();
    const got = await backward.readGradients();
    const want = Object.fromEntries(
      GRADIENTS.map(({ name }) => [name, Float32Array.from(oracle.gradients[name])]),
    ) as AttentionGradients;
    const tolerance = GPU_TOLERANCES[options.precision];
    for (const [name, result] of Object.entries(compareGradients(got, want, tolerance))) {
      const label = `${JSON.stringify(shape)} ${JSON.stringify(options)}, seed ${seed}`;
      assert.ok(result.passed, `${label}: d${name} ${JSON.stringify(result)}`);
    }
  } finally {
    backward.destroy();
  }
}

gpuTest("GpuBackward gives every gradient of the float64 oracle", async (gpu) => {
  const seed = freshSeed();
  const f32 = { precision: "f32", tuning: "hardware" } as const;
  await checkFusedBackward(gpu, { seqLen: 1, dModel: 16, heads: 2 }, seed, f32);
  await checkFusedBackward(
    gpu,
    { seqLen: 13, dModel: 16, heads: 2, kvHeads: 1, mask: "causal" },
    seed,
    f32,
  );
  await checkFusedBackward(
    gpu,
    { seqLen: 9, dModel: 32, heads: 4, kvHeads: 2, batch: 3 },
    seed,
    f32,
  );
  await checkFusedBackward(gpu, { seqLen: 70, dModel: 16, heads: 4, mask: "causal" }, seed, {
    precision: "f32",
    tuning: "software",
  });
  if (gpu.device.features.has("shader-f16")) {
    const shape = { seqLen: 70, dModel: 32, heads: 4, kvHeads: 2, mask: "causal" } as const;
    await checkFusedBackward(gpu, shape, seed, { precision: "f16", tuning: "hardware" });
  }
});

/** A `--pass backward` profile at d_model 32, 4 heads, 2 runs, through runProfile. */
function profileBackward(gpu: GpuContext, changes: Partial<ProfileConfig>) {
  const config: ProfileConfig = {
    ...DEFAULT_CONFIG,
    dModel: 32,
    heads: 4,
    grid: { ...SEED_GRID, dModel: [32], heads: [4], pass: ["backward"] },
    runs: 2,
    warmup: 0,
    quiet: true,
    ...changes,
  };
  return runProfile(config, {
    progress: new QuietProgress(),
    interruption: new AbortController().signal,
    gpu,
    availableMemoryBytes: () => 2 ** 34,
  });
}

gpuTest("profile --pass backward validates and times both GPU backwards", async (gpu) => {
  const results = await profileBackward(gpu, { seqLens: [13, 40] });
  const fused = results.series.find((s) => s.variant === "fused" && s.precision === "f32")!;
  assert.deepEqual(fused.stageNames, VARIANTS.fused.backwardStages);
  for (const point of fused.points) {
    assert.equal(point.status, "ok", point.reason);
    assert.ok(point.validation!.passed);
    assert.equal(point.forwardWallMs?.length, 2);
    assert.equal(point.kernelMs?.[0]?.length, VARIANTS.fused.backwardStages.length);
  }
  const naive = results.series.find((s) => s.variant === "naive" && s.precision === "f32")!;
  assert.deepEqual(naive.stageNames, VARIANTS.naive.backwardStages);
  for (const point of naive.points) {
    assert.equal(point.status, "ok", point.reason);
    // the naive backward keeps P (its forward's) and dS: two score matrices of every head
    assert.ok(point.memory!.peakBytesByClass.scores! >= 2 * 4 * 4 * point.seqLen ** 2);
  }
});

gpuTest(
  "profile --pass backward skips a point whose backward, not its forward, overflows the budget",
  async (gpu) => {
    const shape = { seqLen: 60, dModel: 32, heads: 4 };
    const forwardBytes = GpuAttention.preflight(gpu, "naive", shape).bytesNeeded;
    // room for the naive forward (P included) but not for dS, as large as P, and the gradients
    const scoreBytes = 4 * 4 * 60 * 60;
    const budgeted = { ...gpu, memoryBudgetBytes: forwardBytes + scoreBytes / 2 };
    const results = await profileBackward(budgeted, { seqLens: [60], variants: ["naive"] });
    const point = results.series.find((s) => s.variant === "naive")!.points[0]!;
    assert.equal(point.status, "skipped", JSON.stringify(point));
    assert.match(point.reason!, /backward/);
  },
);

gpuTest(
  "the naive GPU backward on its forward's P gives every gradient, over several windows",
  async (gpu) => {
    const seed = freshSeed();
    // windows of whole heads, then of row ranges of one head
    const cases: [AttentionShape, number | undefined][] = [
      [{ seqLen: 13, dModel: 32, heads: 4 }, undefined],
      [{ seqLen: 65, dModel: 32, heads: 4 }, 2 * 65 * 68 * 4],
      [{ seqLen: 70, dModel: 16, heads: 2 }, 20 * 72 * 4],
    ];
    for (const [shape, maxScoreWindowBytes] of cases) {
      const inputs = generateInputs(shape, seed), dOut = generateUpstreamGradient(shape, seed);
      const oracle = oracleBackward(inputs, dOut);
      const forward = await GpuAttention.create(gpu, "naive", shape, {
        tuning: "hardware",
        maxScoreWindowBytes,
      });
      const backward = await GpuBackward.create(gpu, "naive", shape, {
        tuning: "hardware",
        forward: forward.keptBuffers(),
      });
      try {
        assert.ok(maxScoreWindowBytes === undefined || forward.scoreWindows.length > 1);
        await forward.upload(inputs);
        await backward.upload(inputs, dOut);
        await forward.forward();
        await backward.backward();
        const want = Object.fromEntries(
          GRADIENTS.map(({ name }) => [name, Float32Array.from(oracle.gradients[name])]),
        ) as AttentionGradients;
        const got = await backward.readGradients();
        for (const [name, result] of Object.entries(compareGradients(got, want, 1e-4))) {
          assert.ok(
            result.passed,
            `${JSON.stringify(shape)}, seed ${seed}: d${name} ${JSON.stringify(result)}`,
          );
        }
      } finally {
        backward.destroy();
        forward.destroy();
      }
    }
  },
);
