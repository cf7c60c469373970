/**
 * A whole small profile through the CLI: exit 0, every output file, and `--dump-tensors` arrays
 * that reproduce the CPU output.
 */
import assert from "node:assert/strict";
import { decodeNpz } from "../src/io/npz.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import type { ProfileResults } from "../src/results.ts";
import { PROFILE_OUTPUTS, runProfileCli } from "./task_process.ts";

Deno.test("profile --devices cpu --dump-tensors writes every file and exits 0", async () => {
  const out = await Deno.makeTempDir({ prefix: "cli_profile_" });
  try {
    const result = await runProfileCli([
      "--devices=cpu",
      "--seq-lens=5,24",
      "--d-model=32",
      "--heads=4",
      "--runs=3",
      "--warmup=1",
      "--dump-tensors",
      "--dump-max=10",
      "--quiet",
      `--out=${out}`,
    ]);
    const stdout = result.stdout;
    assert.equal(result.code, 0, result.stderr);
    assert.match(stdout, /CPU \(\d+ workers, WebAssembly SIMD\) \[cpu\]/);
    const names: string[] = [];
    for await (const entry of Deno.readDir(out)) names.push(entry.name);
    // n = 24 is over --dump-max
    assert.deepEqual(names.sort(), [...PROFILE_OUTPUTS, "tensors_n5.npz"].sort());
    const results: ProfileResults = JSON.parse(
      await Deno.readTextFile(`${out}/profiling_results.json`),
    );
    assert.equal(results.interrupted, false);
    assert.deepEqual(results.series[0]!.points.map((p) => p.wallMs.length), [3, 3]);

    const tensors = decodeNpz(await Deno.readFile(`${out}/tensors_n5.npz`));
    assert.deepEqual(Object.keys(tensors).sort(), [
      "attention",
      "b_k",
      "b_o",
      "b_q",
      "b_v",
      "batch",
      "heads",
      "kv_heads",
      "mask",
      "out_cpu",
      "w_k",
      "w_o",
      "w_q",
      "w_v",
      "window",
      "x",
    ]);
    // the configuration as 0-d ints: the seed's (batch 1, multi-head, full, softmax)
    const ints = (name: string) => Number((tensors[name]!.data as BigInt64Array)[0]);
    assert.deepEqual(
      ["batch", "mask", "window", "attention"].map(ints),
      [1, 0, 0, 0],
    );
    assert.deepEqual(tensors.x!.shape, [5, 32]);
    assert.deepEqual(tensors.w_q!.shape, [32, 32]);
    assert.deepEqual(tensors.out_cpu!.shape, [5, 32]);
    // the dumped output is what the CPU path computes from the dumped inputs, bit for bit
    const f32 = (name: string) => tensors[name]!.data as Float32Array;
    const recomputed = await cpuAttentionForward({
      shape: { seqLen: 5, dModel: 32, heads: 4 },
      x: f32("x"),
      weights: {
        wQ: f32("w_q"),
        bQ: f32("b_q"),
        wK: f32("w_k"),
        bK: f32("b_k"),
        wV: f32("w_v"),
        bV: f32("b_v"),
        wO: f32("w_o"),
        bO: f32("b_o"),
      },
    });
    assert.deepEqual(recomputed, f32("out_cpu"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
