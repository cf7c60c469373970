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
 * workgroup-tile ones on a real GPU (src/gpu/tuning.ts).
 */

import { openGpu } from "../src/gpu/device.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { TUNINGS } from "../src/gpu/kernels.ts";
import { CANDIDATES } from "../src/gpu/tuning.ts";
import { median } from "../src/stats.ts";
import { generateInputs } from "../src/random.ts";

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
try {
  const tuning = gpu.adapter.isSoftware ? "software" : "hardware";
  const builtIn = TUNINGS[tuning].projection;
  const wanted = gpu.adapter.isSoftware ? "registers" : "workgroup-tiles";
  const candidates = [
    builtIn,
    ...CANDIDATES.projection.filter((c) =>
      (c.layout ?? "registers") === wanted && JSON.stringify(c) !== JSON.stringify(builtIn)
    ).slice(0, 3),
  ];
  const inputs = generateInputs(shape, 1);
  const runs = [];
  for (const parameters of candidates) {
    const attention = await GpuAttention.create(gpu, "fused", shape, {
      parameters: { projection: parameters },
    });
    await attention.upload(inputs);
    await attention.forward(); // compiles (lavapipe: at the first dispatch)
    runs.push({ parameters, attention, ms: [] as number[] });
  }
  const projections = [0, 2]; // the fused forward's Q|K|V and output projection stages
  for (let round = 0; round < rounds; round++) {
    for (const run of runs) {
      const { stageMs } = await run.attention.forwardStages(projections);
      run.ms.push(stageMs!.reduce((sum, ms) => sum + ms, 0));
    }
  }
  const baseline = median(runs[0]!.ms);
  console.log(
    `projections of a fused forward, n = ${seqLen}, d_model 512, ${rounds} interleaved rounds, ` +
      `on ${gpu.adapter.description}${gpu.adapter.isSoftware ? " (software adapter)" : ""}`,
  );
  for (const run of runs) {
    const fastest = Math.min(...run.ms);
    const label = `wg ${run.parameters.workgroupSize} ${run.parameters.layout ?? "registers"} ` +
      JSON.stringify(run.parameters.template);
    console.log(
      `${label.padEnd(64)} fastest ${fastest.toFixed(1).padStart(7)} ms ` +
        `${(flops / fastest / 1e6).toFixed(1).padStart(5)} GFLOP/s, median ` +
        `${median(run.ms).toFixed(1).padStart(7)} ms (${(baseline / median(run.ms)).toFixed(2)}× ` +
        `the built-in)`,
    );
    run.attention.destroy();
  }
} finally {
  gpu.destroy();
}
