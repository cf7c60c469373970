/**
 * Benchmarks of the CPU path's forward (d_model 512, 8 heads), one worker against all of them.
 *
 * As a `deno bench` file: one group per sequence length, the 1-worker pool as its baseline; and
 * one group per length of the stages run one at a time on one thread (src/reference/cpu_stages.ts,
 * the same WebAssembly kernels), the projection as its baseline.
 * Workers load their module from disk, so both ways need `--allow-read`.
 *
 *     deno bench --allow-read bench/cpu_bench.ts
 *
 * As a script, it prints GFLOP/s and the speed-up of all workers over one:
 *
 *     deno run --allow-read bench/cpu_bench.ts --gflops [--repeat 5] [--seq-lens 128,1024,4096]
 *
 * GFLOP/s count 2 FLOPs per multiply-accumulate of the matmuls, nothing else:
 * 2·(3·n·d² + n²·d + n²·d + n·d²) (`macsByStage` of src/flops.ts, softmax not counted).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { macsByStage, STAGE_NAMES } from "../src/flops.ts";
import { CpuStages } from "../src/reference/cpu_stages.ts";
import { generateInputs } from "../src/random.ts";
import { CpuAttention } from "../src/reference/cpu_attention.ts";
import type { AttentionShape } from "../src/shape.ts";

const SEQ_LENS = [128, 1024, 4096];
const D_MODEL = 512;
const HEADS = 8;
const SEED = 42;
const ALL_WORKERS = navigator.hardwareConcurrency;

/** Matmul FLOPs of one forward: 2 per multiply-accumulate. */
function matmulFlops(shape: AttentionShape): number {
  return 2 * Object.values(macsByStage(shape)).reduce((sum, macs) => sum + macs, 0);
}

function shapeOf(seqLen: number): AttentionShape {
  return { seqLen, dModel: D_MODEL, heads: HEADS };
}

/** One pool per worker count, kept across benchmarks; reloaded only when the length changes. */
const pools = new Map<number, Promise<CpuAttention>>();

async function loadedPool(workers: number, seqLen: number): Promise<CpuAttention> {
  if (!pools.has(workers)) pools.set(workers, CpuAttention.create({ workers }));
  const pool = await pools.get(workers)!;
  if (pool.shape?.seqLen !== seqLen) pool.load(generateInputs(shapeOf(seqLen), SEED));
  return pool;
}

async function closePools(): Promise<void> {
  for (const pool of pools.values()) (await pool).close();
  pools.clear();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Median wall-clock ms of `repeat` forwards of each pool, after two warm-up forwards each. The
 * pools take turns, one forward at a time, so background load on a shared machine hits both alike
 * and their ratio stays fair.
 */
async function timeForwards(
  workerCounts: number[],
  seqLen: number,
  repeat: number,
): Promise<number[]> {
  const loaded = [];
  for (const workers of workerCounts) loaded.push(await loadedPool(workers, seqLen));
  for (const pool of loaded) for (let i = 0; i < 2; i++) await pool.forward();
  const wallMs = loaded.map((): number[] => []);
  for (let i = 0; i < repeat; i++) {
    for (const [p, pool] of loaded.entries()) {
      const start = performance.now();
      await pool.forward();
      wallMs[p]!.push(performance.now() - start);
    }
  }
  return wallMs.map(median);
}

async function printGflops(seqLens: number[], repeat: number): Promise<void> {
  console.log(`CPU forward, d_model ${D_MODEL}, ${HEADS} heads; median of ${repeat} runs`);
  console.log("GFLOP/s = 2·(3·n·d² + n²·d + n²·d + n·d²) / wall time (2 FLOPs per MAC)");
  for (const seqLen of seqLens) {
    const flops = matmulFlops(shapeOf(seqLen));
    const [oneMs, allMs] = (await timeForwards([1, ALL_WORKERS], seqLen, repeat)) as [
      number,
      number,
    ];
    const gflops = (ms: number) => (flops / (ms * 1e6)).toFixed(1).padStart(6);
    console.log(
      `n ${String(seqLen).padStart(5)}: 1 worker ${oneMs.toFixed(1).padStart(8)} ms ${
        gflops(oneMs)
      } ` +
        `GFLOP/s | ${ALL_WORKERS} workers ${allMs.toFixed(1).padStart(8)} ms ${gflops(allMs)} ` +
        `GFLOP/s | speed-up ${(oneMs / allMs).toFixed(2)}×`,
    );
  }
  await closePools();
}

function registerBenchmarks(): void {
  for (const seqLen of SEQ_LENS) {
    const slow = seqLen >= 4096;
    for (const workers of [1, ALL_WORKERS]) {
      Deno.bench({
        name: `forward n=${seqLen}, ${workers} worker${workers > 1 ? "s" : ""}`,
        group: `cpu_forward n=${seqLen}`,
        baseline: workers === 1,
        // a 4096-long forward takes seconds: a few runs are enough
        ...(slow ? { n: 5, warmup: 2 } : {}),
        async fn(b) {
          const pool = await loadedPool(workers, seqLen);
          b.start();
          await pool.forward();
          b.end();
        },
      });
    }
  }
  // `deno bench` exits when the last benchmark ends, live workers or not
  let stages: CpuStages | null = null;
  for (const seqLen of SEQ_LENS) {
    for (const stage of STAGE_NAMES) {
      Deno.bench({
        name: `${stage} n=${seqLen}, 1 thread`,
        group: `cpu_stages n=${seqLen}`,
        baseline: stage === "projection_qkv",
        ...(seqLen >= 4096 ? { n: 3, warmup: 1 } : {}),
        fn(b) {
          if (stages?.shape.seqLen !== seqLen) stages = CpuStages.create(shapeOf(seqLen));
          b.start();
          stages.run(stage);
          b.end();
        },
      });
    }
  }
}

if (Deno.args.includes("--gflops")) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      gflops: { type: "boolean" },
      repeat: { type: "string", default: "5" },
      "seq-lens": { type: "string", default: SEQ_LENS.join(",") },
    },
  });
  const repeat = Number(values.repeat);
  const seqLens = values["seq-lens"].split(",").map(Number);
  if (
    !Number.isInteger(repeat) || repeat < 1 || !seqLens.every((n) => Number.isInteger(n) && n > 0)
  ) {
    console.error("--repeat must be a positive integer, --seq-lens positive integers");
    Deno.exit(2);
  }
  await printGflops(seqLens, repeat);
} else {
  registerBenchmarks();
}
