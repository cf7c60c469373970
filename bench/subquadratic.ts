/**
 * Sub-quadratic attention beside softmax attention (issue targets of sliding-window and linear
 * attention), every case checked against the CPU path before it is timed, cases interleaved per
 * round at each length:
 *
 * - kernel time (sum of stage times) of fused full, fused sliding:256, linear full and linear
 *   causal at each length, and each one's exponent fitted over the lengths (log–log least squares);
 * - fused full ÷ linear full at the largest length;
 * - the naive sliding variant's measured peak bytes beside naive full's theoretical bytes.
 *
 *   deno run -A bench/subquadratic.ts [lengths = 1024,4096,16384] [rounds = 3]
 *
 * A table on stderr, JSON on stdout. A case the preflight refuses is listed with its reason.
 */

import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";
import { scoreMatrixElements, theoreticalMemory } from "../src/memory.ts";
import { generateInputs } from "../src/random.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import { type AttentionShape, resolveShape } from "../src/shape.ts";
import { fitScaling, median } from "../src/stats.ts";
import type { VariantName } from "../src/variants/registry.ts";

const lengths = (Deno.args[0] ?? "1024,4096,16384").split(",").map(Number);
const rounds = Number(Deno.args[1] ?? 3);
const seed = { dModel: 512, heads: 8 };

/** The cases: a variant and the configuration part of its shape. */
const CASES: { name: string; variant: VariantName; shape: Omit<AttentionShape, "seqLen"> }[] = [
  { name: "fused full", variant: "fused", shape: seed },
  { name: "fused sliding:256", variant: "fused", shape: { ...seed, mask: "sliding", window: 256 } },
  { name: "linear full", variant: "linear", shape: { ...seed, attention: "linear" } },
  {
    name: "linear causal",
    variant: "linear",
    shape: { ...seed, attention: "linear", mask: "causal" },
  },
  { name: "naive sliding:256", variant: "naive", shape: { ...seed, mask: "sliding", window: 256 } },
];

const gpu = await openGpu();
if (gpu === null || !gpu.hasTimestamps) {
  console.error("error: no GPU adapter with timestamp-query found");
  Deno.exit(2);
}
/** per case, per length: kernel ms of each round, and the peak bytes */
const measured = new Map<string, Map<number, { kernelMs: number[]; peakBytes: number }>>();
const refused: { name: string; seqLen: number; reason: string }[] = [];
try {
  for (const seqLen of lengths) {
    const ready: { name: string; attention: GpuAttention }[] = [];
    for (const { name, variant, shape: partial } of CASES) {
      const shape = { ...partial, seqLen };
      const fit = GpuAttention.preflight(gpu, variant, shape);
      if (!fit.fits) {
        refused.push({ name, seqLen, reason: fit.reason });
        continue;
      }
      const inputs = generateInputs(shape, 11);
      const attention = await GpuAttention.create(gpu, variant, shape);
      await attention.upload(inputs);
      await attention.forward(); // compiles (lavapipe: at the first dispatch)
      const { out } = await attention.readback();
      const check = compareOutputs(out, await cpuAttentionForward(inputs), GPU_TOLERANCES.f32);
      if (!check.passed) {
        attention.destroy();
        throw new Error(`${name} n=${seqLen}: output does not match the CPU path: not timed`);
      }
      console.error(`${name} n=${seqLen}: validated (rel L2 ${check.relL2Error.toExponential(1)})`);
      ready.push({ name, attention });
      if (!measured.has(name)) measured.set(name, new Map());
      measured.get(name)!.set(seqLen, { kernelMs: [], peakBytes: 0 });
    }
    for (let round = 0; round < rounds; round++) {
      for (const { name, attention } of ready) {
        const { stageMs } = await attention.forward();
        const at = measured.get(name)!.get(seqLen)!;
        at.kernelMs.push(stageMs!.reduce((a, b) => a + b, 0));
        at.peakBytes = attention.memory().peakBytes;
      }
    }
    for (const { attention } of ready) attention.destroy();
  }
} finally {
  gpu.destroy();
}

const software = gpu.adapter.isSoftware ? " (software adapter: a CPU emulation)" : "";
console.error(`on ${gpu.adapter.description}${software}, ${rounds} interleaved rounds per length`);
const cases = [...measured].map(([name, byLength]) => {
  const points = [...byLength].map(([seqLen, at]) => ({
    seqLen,
    medianKernelMs: median(at.kernelMs),
    peakBytes: at.peakBytes,
  }));
  const fit = points.length >= 2
    ? fitScaling(points.map((p) => p.seqLen), points.map((p) => p.medianKernelMs))
    : undefined;
  for (const p of points) {
    console.error(
      `${name.padEnd(20)} n=${String(p.seqLen).padStart(6)} ${
        p.medianKernelMs.toFixed(1).padStart(9)
      } ms  peak ${(p.peakBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  if (fit) console.error(`${name.padEnd(20)} time ∝ n^${fit.exponent.toFixed(3)}`);
  return { name, points, exponent: fit?.exponent };
});
const largest = Math.max(...lengths);
const at = (name: string) =>
  cases.find((c) => c.name === name)?.points.find((p) => p.seqLen === largest);
const fusedOverLinear = (at("fused full")?.medianKernelMs ?? NaN) /
  (at("linear full")?.medianKernelMs ?? NaN);
console.error(`fused full / linear full at n=${largest}: ${fusedOverLinear.toFixed(1)}×`);
const naiveFull = resolveShape({ ...seed, seqLen: largest });
const naiveFullBytes = theoreticalMemory(
  naiveFull,
  naiveFull.heads * scoreMatrixElements(naiveFull),
).totalBytes;
const slidingShare = (at("naive sliding:256")?.peakBytes ?? NaN) / naiveFullBytes;
console.error(
  `naive sliding:256 peak / naive full theoretical at n=${largest}: ${slidingShare.toFixed(4)}`,
);
for (const r of refused) console.error(`refused: ${r.name} n=${r.seqLen}: ${r.reason}`);
console.log(
  JSON.stringify(
    { adapter: gpu.adapter.description, rounds, cases, fusedOverLinear, slidingShare, refused },
    null,
    2,
  ),
);
