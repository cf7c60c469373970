/**
 * The fused backward's targets (issue 11), in one process with forward and backward interleaved,
 * every gradient checked against the CPU path before anything is timed:
 *
 * - GFLOP/s of the fused backward ÷ GFLOP/s of the fused forward at n = 4096 (d_model 512, 8
 *   heads; exact MACs of each: src/variants/stages.ts, the backward's recomputation included);
 *   target ≥ 0.6;
 * - how the peak GPU bytes grow from n = 1024 to 4096 (forward buffers included): the fused
 *   backward's, target n^≤1.1 (O(n) memory); the naive backward's, target n^≥1.6, its `scores`
 *   class (P and dS) n^≈2.
 *
 *   deno run -A bench/gpu_backward.ts [rounds = 5] [n = 4096]
 *
 * Prints a table on stderr and the numbers as JSON on stdout.
 */

import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { GpuBackward } from "../src/gpu/gpu_backward.ts";
import { compareGradients } from "../src/gpu/gradient_validation.ts";
import { GPU_TOLERANCES } from "../src/gpu/validation.ts";
import { attentionFlops } from "../src/flops.ts";
import { generateInputs, generateUpstreamGradient } from "../src/random.ts";
import { CpuAttention } from "../src/reference/cpu_attention.ts";
import type { AttentionShape } from "../src/shape.ts";
import { median } from "../src/stats.ts";
import { VARIANTS } from "../src/variants/registry.ts";

const rounds = Number(Deno.args[0] ?? 5);
const largeN = Number(Deno.args[1] ?? 4096);
const smallN = largeN / 4;

/** A variant's forward and backward at one length, checked against the CPU path. */
async function prepare(
  gpu: NonNullable<Awaited<ReturnType<typeof openGpu>>>,
  variant: "naive" | "fused",
  seqLen: number,
) {
  const shape: AttentionShape = { seqLen, dModel: 512, heads: 8 };
  const inputs = generateInputs(shape, 7), dOut = generateUpstreamGradient(shape, 7);
  const forward = await GpuAttention.create(gpu, variant, shape);
  const backward = await GpuBackward.create(gpu, variant, shape, {
    tuning: gpu.adapter.isSoftware ? "software" : "hardware",
    forward: forward.keptBuffers(),
  });
  await forward.upload(inputs);
  await backward.upload(inputs, dOut);
  await forward.forward(); // compiles (lavapipe: at the first dispatch)
  await backward.backward();
  const cpu = await CpuAttention.create();
  try {
    cpu.load(inputs, { backward: true });
    await cpu.forward();
    const { gradients } = await cpu.backward(dOut);
    const results = compareGradients(await backward.readGradients(), gradients, GPU_TOLERANCES.f32);
    const failed = Object.entries(results).filter(([, r]) => !r.passed).map(([name]) => name);
    if (failed.length > 0) throw new Error(`n = ${seqLen}: d${failed.join(", d")} do not match`);
  } finally {
    cpu.close();
  }
  console.error(`${variant} n = ${seqLen}: every gradient validated against the CPU path`);
  // the forward's buffers stay live through the backward
  const peak = await peakOf(forward, backward);
  return { shape, forward, backward, peak };
}

/** Peak GPU bytes (and of the `scores` class) of one backward, the forward's buffers included. */
async function peakOf(forward: GpuAttention, backward: GpuBackward) {
  await backward.backward();
  const f = forward.memory(), b = backward.memory();
  return {
    bytes: f.peakBytes + b.peakBytes,
    scores: (f.peakBytesByClass.scores ?? 0) + (b.peakBytesByClass.scores ?? 0),
  };
}

const gpu = await openGpu();
if (gpu === null || !gpu.hasTimestamps) {
  console.error("error: no GPU adapter with timestamp-query found");
  Deno.exit(2);
}
const cases = [] as Awaited<ReturnType<typeof prepare>>[];
const peaks: Record<string, { bytes: number; scores: number }> = {};
const forwardMs: number[] = [], backwardMs: number[] = [];
try {
  for (const variant of ["naive", "fused"] as const) {
    for (const seqLen of [smallN, largeN]) {
      const prepared = await prepare(gpu, variant, seqLen);
      peaks[`${variant}_n${seqLen}`] = prepared.peak;
      if (variant === "fused") {
        cases.push(prepared);
      } else {
        prepared.backward.destroy();
        prepared.forward.destroy();
      }
    }
  }
  const large = cases[1]!;
  for (let round = 0; round < rounds; round++) {
    const f = await large.forward.forward(), b = await large.backward.backward();
    forwardMs.push(f.stageMs!.reduce((sum, ms) => sum + ms, 0));
    backwardMs.push(b.stageMs!.reduce((sum, ms) => sum + ms, 0));
  }
} finally {
  for (const { forward, backward } of cases) {
    backward.destroy();
    forward.destroy();
  }
  gpu.destroy();
}

const shape = cases[1]!.shape;
const forwardFlops = attentionFlops(shape, VARIANTS.fused.stages).totalFlops;
const backwardFlops = attentionFlops(shape, VARIANTS.fused.backwardStages).totalFlops;
const forwardGflops = forwardFlops / (median(forwardMs) * 1e6);
const backwardGflops = backwardFlops / (median(backwardMs) * 1e6);
/** log(growth) / log(n ratio) of a peak between the two lengths. */
const exponent = (variant: string, of: "bytes" | "scores") =>
  Math.log(peaks[`${variant}_n${largeN}`]![of] / peaks[`${variant}_n${smallN}`]![of]) /
  Math.log(largeN / smallN);
const memoryExponents = {
  fused: exponent("fused", "bytes"),
  naive: exponent("naive", "bytes"),
  naiveScores: exponent("naive", "scores"),
};
const software = gpu.adapter.isSoftware ? " (software adapter: a CPU emulation)" : "";
console.error(`fused variant on ${gpu.adapter.description}${software}, ${rounds} rounds`);
console.error(
  `n = ${largeN}: forward ${forwardGflops.toFixed(1)} GFLOP/s (${median(forwardMs).toFixed(0)} ms` +
    ` kernels), backward ${backwardGflops.toFixed(1)} GFLOP/s (${
      median(backwardMs).toFixed(0)
    } ms): ratio ${(backwardGflops / forwardGflops).toFixed(2)}, target ≥ 0.6`,
);
console.error(
  `peak GPU bytes n = ${smallN} → ${largeN}: fused n^${memoryExponents.fused.toFixed(2)} ` +
    `(target ≤ 1.1), naive n^${memoryExponents.naive.toFixed(2)} (target ≥ 1.6), its scores ` +
    `n^${memoryExponents.naiveScores.toFixed(2)} (≈ 2)`,
);
console.log(JSON.stringify(
  {
    adapter: gpu.adapter.description,
    rounds,
    forwardGflops,
    backwardGflops,
    peaks,
    memoryExponents,
  },
  null,
  2,
));
