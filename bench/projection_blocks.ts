/**
 * Projection parameters compared inside one process, runs interleaved: on a shared machine the
 * noise comes in bursts of seconds, so candidates timed one after another (as `deno bench` and
 * the tuner do) can trade places by chance, while rounds that time every candidate once each see
 * the same conditions. Prints each candidate's fastest and median kernel time of both projections
 * of a fused forward (Q|K|V and output; timestamp queries), its GFLOP/s, and its speed relative
 * to the adapter's built-in parameters.
 *
 *   deno run -A bench/projection_blocks.ts [n = 4096] [rounds = 12]
 *
 * Candidates: the register-layout entries of the tuning table on a software adapter, the
 * workgroup-tile ones on a real GPU (src/gpu/tuning.ts). Each candidate's forward output is
 * checked against the CPU path before any round is timed; a mismatch stops the run (exit 1).
 */

import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { type KernelParameters, TUNINGS } from "../src/gpu/kernels.ts";
import { candidateTable } from "../src/gpu/tuning.ts";
import { median } from "../src/stats.ts";
import { generateInputs } from "../src/random.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";

const seqLen = Number(Deno.args[0] ?? 4096);
const rounds = Number(Deno.args[1] ?? 12);
const shape = { seqLen, dModel: 512, heads: 8 };
/** both projections: 3·n·d² + n·d² multiply-adds, 2 FLOPs each */
const flops = 2 * 4 * seqLen * shape.dModel ** 2;

const gpu = await openGpu();
if (gpu === null) {
  console.error("error: no GPU adapter found (WebGPU found no device)");
  Deno.exit(2);
}
if (!gpu.hasTimestamps) {
  console.error("error: the adapter has no timestamp-query: kernel times cannot be read");
  Deno.exit(2);
}

interface Run {
  parameters: KernelParameters;
  attention: GpuAttention;
  /** kernel time of both projections, one per round */
  ms: number[];
}

const runs: Run[] = [];
try {
  const builtIn = TUNINGS[gpu.adapter.isSoftware ? "software" : "hardware"].projection;
  const layout = gpu.adapter.isSoftware ? "registers" : "workgroup-tiles";
  const others = candidateTable("projection", builtIn).slice(1)
    .filter((c) => (c.layout ?? "registers") === layout);
  const inputs = generateInputs(shape, 1);
  const expected = await cpuAttentionForward(inputs);
  for (const parameters of [builtIn, ...others.slice(0, 3)]) {
    const attention = await GpuAttention.create(gpu, "fused", shape, {
      parameters: { projection: parameters },
    });
    runs.push({ parameters, attention, ms: [] });
    await attention.upload(inputs);
    await attention.forward(); // compiles (lavapipe: at the first dispatch)
    const check = compareOutputs((await attention.readback()).out, expected, GPU_TOLERANCES.f32);
    if (!check.passed) {
      console.error(
        `error: projection ${JSON.stringify(parameters)}: the output does not match the CPU ` +
          `path (relative L2 error ${check.relL2Error.toExponential(2)}); nothing timed`,
      );
      Deno.exit(1);
    }
  }
  const projections = [0, 2]; // the fused forward's Q|K|V and output projection stages
  for (let round = 0; round < rounds; round++) {
    for (const run of runs) {
      const { stageMs } = await run.attention.forwardStages(projections);
      run.ms.push(stageMs!.reduce((sum, ms) => sum + ms, 0));
    }
  }
  report(runs);
} finally {
  for (const run of runs) run.attention.destroy();
  gpu.destroy();
}

function report(runs: Run[]): void {
  const baseline = median(runs[0]!.ms);
  console.log(
    `projections of a fused forward, n = ${seqLen}, d_model 512, ${rounds} interleaved rounds, ` +
      `on ${gpu!.adapter.description}${gpu!.adapter.isSoftware ? " (software adapter)" : ""}`,
  );
  for (const run of runs) {
    const fastest = Math.min(...run.ms);
    const typical = median(run.ms);
    const label = `wg ${run.parameters.workgroupSize} ${run.parameters.layout ?? "registers"} ` +
      JSON.stringify(run.parameters.template);
    console.log(
      `${label.padEnd(64)} fastest ${fastest.toFixed(1).padStart(7)} ms ` +
        `${(flops / fastest / 1e6).toFixed(1).padStart(5)} GFLOP/s, median ` +
        `${typical.toFixed(1).padStart(7)} ms (${(baseline / typical).toFixed(2)}× the built-in)`,
    );
  }
}
