/**
 * The configuration targets of the fused variant, measured in one process with the cases
 * interleaved (on a shared machine noise comes in bursts, so rounds that time every case once each
 * see the same conditions), every case checked against the CPU path before it is timed:
 *
 * - causal ÷ full at n = 4096: the flash-attention stage, and the whole forward (sum of its stage
 *   times): the causal kernel skips the key blocks above the diagonal;
 * - kv_heads 1 ÷ kv_heads 8 at n = 4096: the Q|K|V projection stage (K and V project to d_k
 *   columns instead of d_model);
 * - batch 4 ÷ batch 1 at n = 1024: tokens per second on the wall clock.
 *
 *   deno run -A bench/configurations.ts [rounds = 5]
 *
 * Prints a table on stderr and the ratios as JSON on stdout.
 */

import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";
import { generateInputs } from "../src/random.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import type { AttentionShape } from "../src/shape.ts";
import { median } from "../src/stats.ts";
import { VARIANTS } from "../src/variants/registry.ts";

const rounds = Number(Deno.args[0] ?? 5);
const seed = { dModel: 512, heads: 8 };

/** The cases, by name. */
const CASES: Record<string, AttentionShape> = {
  full_n4096: { ...seed, seqLen: 4096 },
  causal_n4096: { ...seed, seqLen: 4096, mask: "causal" },
  kv1_n4096: { ...seed, seqLen: 4096, kvHeads: 1 },
  batch1_n1024: { ...seed, seqLen: 1024 },
  batch4_n1024: { ...seed, seqLen: 1024, batch: 4 },
};

/** One forward's times. */
interface Sample {
  wallMs: number;
  stageMs: number[];
}

const STAGES = VARIANTS.fused.stages;
const stage = (name: string) => (s: Sample) => s.stageMs[STAGES.indexOf(name as never)]!;
const kernelSum = (s: Sample) => s.stageMs.reduce((a, b) => a + b, 0);
/** tokens (B·n) per second of wall clock */
const tokensPerSecond = (s: Sample, shape: AttentionShape) =>
  (shape.batch ?? 1) * shape.seqLen / (s.wallMs / 1000);

/** The ratios and their targets: median of `metric` over the numerator's runs ÷ the denominator's. */
const RATIOS = [
  {
    name: "causal/full flash_attention",
    of: ["causal_n4096", "full_n4096"],
    metric: stage("flash_attention"),
    target: "<= 0.55",
  },
  {
    name: "causal/full forward (sum of stages)",
    of: ["causal_n4096", "full_n4096"],
    metric: kernelSum,
    target: "<= 0.65",
  },
  {
    name: "kv1/kv8 projection_qkv",
    of: ["kv1_n4096", "full_n4096"],
    metric: stage("projection_qkv"),
    target: "<= 0.5",
  },
  {
    name: "batch4/batch1 tokens per second (wall)",
    of: ["batch4_n1024", "batch1_n1024"],
    metric: tokensPerSecond,
    target: ">= 1.0",
  },
] as const;

const gpu = await openGpu();
if (gpu === null || !gpu.hasTimestamps) {
  console.error("error: no GPU adapter with timestamp-query found");
  Deno.exit(2);
}
const attentions = new Map<string, GpuAttention>();
const samples = new Map<string, Sample[]>();
try {
  for (const [name, shape] of Object.entries(CASES)) {
    const inputs = generateInputs(shape, 7);
    const attention = await GpuAttention.create(gpu, "fused", shape);
    attentions.set(name, attention);
    await attention.upload(inputs);
    await attention.forward(); // compiles (lavapipe: at the first dispatch)
    const { out } = await attention.readback();
    const check = compareOutputs(out, await cpuAttentionForward(inputs), GPU_TOLERANCES.f32);
    if (!check.passed) throw new Error(`${name}: output does not match the CPU path: not timed`);
    console.error(`${name}: validated (relative L2 error ${check.relL2Error.toExponential(1)})`);
    samples.set(name, []);
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, attention] of attentions) {
      const { wallMs, stageMs } = await attention.forward();
      samples.get(name)!.push({ wallMs, stageMs: stageMs! });
    }
  }
} finally {
  for (const attention of attentions.values()) attention.destroy();
  gpu.destroy();
}

const software = gpu.adapter.isSoftware ? " (software adapter: a CPU emulation)" : "";
console.error(
  `fused variant on ${gpu.adapter.description}${software}, ${rounds} interleaved rounds`,
);
const results = RATIOS.map(({ name, of: [numerator, denominator], metric, target }) => {
  const typical = (name: string) =>
    median(samples.get(name)!.map((sample) => metric(sample, CASES[name]!)));
  const ratio = typical(numerator) / typical(denominator);
  console.error(`${name.padEnd(40)} ${ratio.toFixed(3)}   target ${target}`);
  return { name, ratio, target };
});
const medians = Object.fromEntries(
  [...samples].map(([name, runs]) => [name, {
    wallMs: median(runs.map((s) => s.wallMs)),
    stageMs: STAGES.map((_, i) => median(runs.map((s) => s.stageMs[i]!))),
  }]),
);
console.log(
  JSON.stringify({ adapter: gpu.adapter.description, rounds, results, medians }, null, 2),
);
