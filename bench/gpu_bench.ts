/**
 * GPU benchmarks: every stage of each variant, each variant's whole forward, and the no-op kernel
 * (the cost of one dispatch and its synchronisation) as the baseline of each group.
 *
 *   deno task bench                                  (every bench, permissions from deno.json)
 *   GPU_BENCH_SEQ_LENS=128,1024 deno bench -P bench/gpu_bench.ts
 *   (default 128,1024,4096; d_model 512, 8 heads)
 *
 * What `deno bench` shows is the synchronised wall clock of each case: submit until the queue
 * reports the work done, plus reading back the case's timestamp queries (one more map: on lavapipe
 * each wait costs ~11 ms, which the no-op baseline, timed the same way, shows).
 * Kernel time comes from timestamp queries: the fastest run per case, with the GFLOP/s of the
 * stages that do matrix work (2 FLOPs per multiply-add, src/flops.ts), goes to a JSON file
 * (`GPU_BENCH_KERNEL_TIMES`, default results/gpu_bench_kernel_times.json), rewritten after every
 * case, and as a table to stderr after the run: stdout is `deno bench --json`'s alone.
 *
 * Each variant's forward is built, run once and its output checked against the CPU path before
 * any of its cases is timed (a mismatch fails the case: no time for an unchecked output).
 * Pipelines are compiled and warmed by that first run.
 */

import { dirname } from "node:path";
import type { VariantName } from "../src/config.ts";
import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { VARIANT_NAMES, VARIANTS as REGISTRY } from "../src/variants/registry.ts";
import { kernelPipeline, KERNELS, TUNINGS } from "../src/gpu/kernels.ts";
import { StageTimestamps } from "../src/gpu/timestamps.ts";
import { applyTuning } from "../src/gpu/tuning.ts";
import { BufferTracker } from "../src/gpu/buffer_tracker.ts";
import { attentionFlops, STAGE_NAMES, stageFlops } from "../src/flops.ts";
import { generateInputs } from "../src/random.ts";
import type { AttentionInputs, AttentionShape } from "../src/shape.ts";
import { writeTextFileAtomic } from "../src/io/atomic.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";

const SEQ_LENS = (_env("GPU_BENCH_SEQ_LENS") ?? "128,1024,4096").split(",").map(Number);
const D_MODEL = 512;
const HEADS = 8;
const VARIANTS: VariantName[] = VARIANT_NAMES;
/** timed runs per case: fewer where one forward takes seconds on a software adapter */
const runsFor = (seqLen: number) => seqLen <= 1024 ? 10 : 3;

function _env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: the defaults
  }
}

const KERNEL_TIMES_PATH = _env("GPU_BENCH_KERNEL_TIMES") ?? "results/gpu_bench_kernel_times.json";

const gpu = await openGpu();
if (gpu === null) console.error("gpu_bench: no GPU adapter, GPU benchmarks skipped");
// the kernels the profile would run on this adapter: its cached tuning, else the defaults
else await applyTuning(gpu);

/** Fastest kernel time (timestamp queries) per case label. */
const kernelMs = new Map<string, { ms: number; flops: number }>();

/** Keep a case's kernel time if it is its fastest, and rewrite the JSON file of them all. */
async function record(label: string, ms: number | undefined, flops: number): Promise<void> {
  if (ms === undefined) return;
  const best = kernelMs.get(label);
  if (best === undefined || ms < best.ms) kernelMs.set(label, { ms, flops });
  const cases = [...kernelMs].map(([label, { ms, flops }]) => ({
    case: label,
    kernelMs: ms,
    ...(flops > 0 ? { gflops: flops / ms / 1e6 } : {}),
  }));
  await Deno.mkdir(dirname(KERNEL_TIMES_PATH), { recursive: true });
  await writeTextFileAtomic(
    KERNEL_TIMES_PATH,
    JSON.stringify(
      {
        adapter: gpu!.adapter.description,
        backend: gpu!.adapter.backend ?? null,
        timing: "timestamp-query, fastest run per case",
        validatedAgainst: "the CPU path, before any case of the forward was timed",
        cases,
      },
      null,
      2,
    ) + "\n",
  );
}

/** The CPU path's output of the bench inputs of a shape (the reference of its variants). */
const cpuOutputs = new Map<string, { inputs: AttentionInputs; out: Float32Array }>();

async function referenceFor(shape: AttentionShape) {
  const key = JSON.stringify(shape);
  let reference = cpuOutputs.get(key);
  if (reference === undefined) {
    const inputs = generateInputs(shape, 42);
    reference = { inputs, out: await cpuAttentionForward(inputs) };
    cpuOutputs.set(key, reference);
  }
  return reference;
}

/**
 * One GpuAttention at a time, created, uploaded, run once (lavapipe compiles then) and its output
 * checked against the CPU path on first use: a mismatch throws, so no case of it is timed.
 */
let current: { key: string; attention: GpuAttention } | null = null;

async function attentionFor(variant: VariantName, shape: AttentionShape): Promise<GpuAttention> {
  const key = `${variant} ${shape.seqLen}`;
  if (current?.key === key) return current.attention;
  current?.attention.destroy();
  current = null;
  const { inputs, out: expected } = await referenceFor(shape);
  const attention = await GpuAttention.create(gpu!, variant, shape);
  await attention.upload(inputs);
  await attention.forward();
  const check = compareOutputs((await attention.readback()).out, expected, GPU_TOLERANCES.f32);
  if (!check.passed) {
    attention.destroy();
    throw new Error(
      `${key}: the GPU output does not match the CPU path (relative L2 error ` +
        `${check.relL2Error.toExponential(2)}, ${check.mismatchCount} elements out of bounds)`,
    );
  }
  current = { key, attention };
  return attention;
}

/** The no-op kernel in one compute pass with timestamps, one submission per run. */
async function noopRunner() {
  const device = gpu!.device;
  const tuning = gpu!.adapter.isSoftware ? "software" : "hardware";
  const pipeline = await kernelPipeline(device, KERNELS.noop, TUNINGS[tuning].noop);
  const timestamps = new StageTimestamps(device, new BufferTracker(device), 1, gpu!.hasTimestamps);
  return async () => {
    const encoder = device.createCommandEncoder({ label: "noop" });
    const pass = encoder.beginComputePass({ timestampWrites: timestamps.passTimestampWrites(0) });
    pass.setPipeline(pipeline);
    pass.dispatchWorkgroups(1);
    pass.end();
    timestamps.resolve(encoder);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return await timestamps.read();
  };
}

if (gpu !== null) {
  const noop = await noopRunner();
  for (const seqLen of SEQ_LENS) {
    const group = `n=${seqLen}`;
    const options = { group, n: runsFor(seqLen), warmup: 1 };
    Deno.bench({
      name: "noop dispatch",
      ...options,
      n: 20,
      baseline: true,
      async fn(b) {
        b.start();
        const stageMs = await noop();
        b.end();
        await record(`noop`, stageMs?.[0], 0);
      },
    });
    for (const variant of VARIANTS) {
      // each variant on the attention it computes (softmax or linear), checked against the CPU
      // path's output of the same
      const shape: AttentionShape = {
        seqLen,
        dModel: D_MODEL,
        heads: HEADS,
        attention: REGISTRY[variant].attention,
      };
      // the seed's stage table plus the variant's own stages (flash attention covers three of
      // the seed's, the linear stages none)
      const stages = REGISTRY[variant].stages;
      const work = attentionFlops(shape, [...new Set([...STAGE_NAMES, ...stages])]);
      const forwardFlops = stages.reduce((sum, stage) => sum + stageFlops(work, stage), 0);
      const stageNames = GpuAttention.preflight(gpu, variant, shape).fits
        ? REGISTRY[variant].stages
        : [];
      stageNames.forEach((stage, index) => {
        Deno.bench({
          name: `${variant} ${stage}`,
          ...options,
          async fn(b) {
            const attention = await attentionFor(variant, shape);
            b.start();
            const { stageMs } = await attention.forwardStages([index]);
            b.end();
            await record(`${group} ${variant} ${stage}`, stageMs?.[0], stageFlops(work, stage));
          },
        });
      });
      if (stageNames.length === 0) {
        console.error(`gpu_bench: ${variant} at n=${seqLen} skipped by the preflight`);
        continue;
      }
      Deno.bench({
        name: `${variant} forward`,
        ...options,
        async fn(b) {
          const attention = await attentionFor(variant, shape);
          b.start();
          const { stageMs } = await attention.forward();
          b.end();
          const sum = stageMs?.reduce((a, c) => a + c, 0);
          await record(`${group} ${variant} forward (kernels)`, sum, forwardFlops);
        },
      });
    }
  }

  globalThis.addEventListener("unload", () => {
    current?.attention.destroy();
    if (kernelMs.size > 0) {
      console.error(
        `\nkernel time from timestamp queries (fastest run) on ${gpu.adapter.description}, ` +
          `also in ${KERNEL_TIMES_PATH}`,
      );
      for (const [label, { ms, flops }] of kernelMs) {
        const rate = flops > 0 ? `${(flops / ms / 1e6).toFixed(1).padStart(7)} GFLOP/s` : "";
        console.error(`${label.padEnd(44)} ${ms.toFixed(3).padStart(11)} ms ${rate}`);
      }
    }
    gpu.destroy();
  });
}
