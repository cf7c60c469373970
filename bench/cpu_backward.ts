/**
 * The CPU backward against the CPU forward on one worker pool, runs interleaved (forward,
 * backward, forward, …: on a shared machine noise comes in bursts, and rounds that time both see
 * the same conditions). Prints each pass's fastest and median wall time, their ratio (issue 11's
 * target: backward ≤ 3.5 × forward at n = 1024, d_model 512, 8 heads) and the backward's peak
 * typed-array bytes by class. The backward is checked against nothing here: tests/ holds it to
 * the float64 oracle.
 *
 *   deno run --allow-read --allow-env bench/cpu_backward.ts [n = 1024] [rounds = 10]
 *
 * @module
 */

import { generateInputs, SeededRandom } from "../src/random.ts";
import { CpuAttention } from "../src/reference/cpu_attention.ts";
import { median } from "../src/stats.ts";

const seqLen = Number(Deno.args[0] ?? 1024);
const rounds = Number(Deno.args[1] ?? 10);
if (!Number.isInteger(seqLen) || seqLen < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error(
    "usage: deno run --allow-read --allow-env bench/cpu_backward.ts [n ≥ 1] [rounds ≥ 1]",
  );
  Deno.exit(2);
}
const shape = { seqLen, dModel: 512, heads: 8 };
const inputs = generateInputs(shape, 42);
const dOut = new SeededRandom(43).fillNormal(new Float32Array(inputs.x.length));

const cpu = await CpuAttention.create();
try {
  cpu.load(inputs, { backward: true });
  await cpu.forward(); // warm-up: V8 tiers the kernels up
  await cpu.backward(dOut);
  const forwardMs: number[] = [], backwardMs: number[] = [];
  let memory = (await cpu.backward(dOut)).memory;
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    await cpu.forward();
    forwardMs.push(performance.now() - start);
    start = performance.now();
    memory = (await cpu.backward(dOut)).memory;
    backwardMs.push(performance.now() - start);
  }
  const row = (name: string, ms: number[]) =>
    `${name.padEnd(9)} best ${Math.min(...ms).toFixed(1).padStart(8)} ms   median ${
      median(ms).toFixed(1).padStart(8)
    } ms`;
  console.log(
    `CPU, ${cpu.workerCount} workers, n = ${seqLen}, d_model 512, 8 heads, ${rounds} rounds`,
  );
  console.log(row("forward", forwardMs));
  console.log(row("backward", backwardMs));
  console.log(
    `backward ÷ forward: best ${(Math.min(...backwardMs) / Math.min(...forwardMs)).toFixed(2)}, ` +
      `median ${(median(backwardMs) / median(forwardMs)).toFixed(2)}`,
  );
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const classes = Object.entries(memory.peakBytesByClass).map(([c, b]) => `${c} ${mib(b)}`);
  console.log(`backward peak typed-array bytes ${mib(memory.peakBytes)} (${classes.join(", ")})`);
} finally {
  cpu.close();
}
