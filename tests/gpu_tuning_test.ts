/**
 * Tuning and its cache on the adapter WebGPU finds (lavapipe in CI): small shapes and the softmax
 * or small register blocks, so nothing big compiles. Skipped without an adapter unless CI=true,
 * where they fail.
 */
import assert from "node:assert/strict";
import type { GpuContext } from "../src/gpu/device.ts";
import { CACHE_DIR_ENV } from "../src/io/cache_dir.ts";
import { TUNINGS } from "../src/gpu/kernels.ts";
import {
  CandidateBench,
  CANDIDATES,
  candidateTable,
  kernelSourceHash,
  loadTuning,
  sameParameters,
  saveTuning,
  tuneKernels,
} from "../src/gpu/tuning.ts";
import { IN_CI, openTestGpu } from "./test_gpu.ts";

const GPU = await openTestGpu("GPU tuning tests");
globalThis.addEventListener("unload", () => GPU?.destroy());
const SHAPE = { seqLen: 37, dModel: 64, heads: 2 };

function gpuTest(name: string, fn: (gpu: GpuContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: GPU === null && !IN_CI,
    async fn() {
      if (GPU === null) throw new Error("CI=true but WebGPU found no GPU adapter");
      await fn(GPU);
    },
  });
}

gpuTest(
  "measureInterleaved() times every candidate that builds and names why one does not",
  async (gpu) => {
    const bench = new CandidateBench(gpu, SHAPE);
    const good = { workgroupSize: 8, template: { ROW_BLOCKS: 1, COL_BLOCKS: 2 } };
    const broken = {
      workgroupSize: 64,
      layout: "workgroup-tiles" as const,
      template: { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 4, COL_LANES: 4, TILE_INNER: 4 },
    };
    const [first, second] = await bench.measureInterleaved("projection", [good, broken], 2);
    // a tiny kernel may round to 0 ms on a GPU with coarse timestamps
    assert.ok(Number.isFinite(first!.ms) && first!.ms! >= 0, JSON.stringify(first));
    assert.equal(first!.error, undefined);
    assert.equal(second!.ms, undefined);
    assert.match(second!.error!, /ROW_LANES × COL_LANES = 16 is not the workgroup size 64/);
  },
);

gpuTest("tuneKernels() validates and times every candidate and applies the winner", async (gpu) => {
  const before = gpu.kernelParameters;
  try {
    const lines: string[] = [];
    const { softmax } = await tuneKernels(gpu, {
      kernels: ["softmax"],
      shape: SHAPE,
      log: (line) => lines.push(line),
    });
    assert.ok(softmax);
    assert.equal(softmax.candidates.length, CANDIDATES.softmax.length);
    assert.ok(softmax.candidates.every((c) => Number.isFinite(c.ms) && c.ms! >= 0));
    assert.equal(lines.length, CANDIDATES.softmax.length);
    // the winner is one of the two finalists, and the faster of them
    assert.equal(softmax.final.length, 2);
    const fastest = softmax.final.reduce((a, b) => (b.ms! < a.ms! ? b : a));
    assert.deepEqual(softmax.parameters, fastest.parameters);
    assert.deepEqual(gpu.kernelParameters?.softmax, softmax.parameters);
    assert.equal(softmax.sourceHash, await kernelSourceHash("softmax"));
  } finally {
    gpu.kernelParameters = before;
  }
});

gpuTest("the tuning cache keeps an adapter's entries and drops a changed kernel's", async (gpu) => {
  const dir = await Deno.makeTempDir({ prefix: "tuning_cache_" });
  const previous = Deno.env.get(CACHE_DIR_ENV);
  Deno.env.set(CACHE_DIR_ENV, dir);
  try {
    const entry = (kernel: "softmax" | "scores", sourceHash: string) => ({
      kernel,
      sourceHash,
      parameters: { workgroupSize: 64, template: {} },
      candidates: [],
      final: [],
      shape: SHAPE,
      timing: "timestamp-query" as const,
      tunedAt: new Date().toISOString(),
    });
    await saveTuning(gpu.adapter, {
      softmax: entry("softmax", await kernelSourceHash("softmax")),
      scores: entry("scores", "0000000000000000"), // a kernel source that has changed since
    });
    const loaded = await loadTuning(gpu.adapter);
    assert.deepEqual(Object.keys(loaded), ["softmax"]);
    assert.equal(loaded.softmax!.parameters.workgroupSize, 64);
    const otherAdapter = { ...gpu.adapter, description: "another adapter" };
    assert.deepEqual(await loadTuning(otherAdapter), {});
  } finally {
    if (previous === undefined) Deno.env.delete(CACHE_DIR_ENV);
    else Deno.env.set(CACHE_DIR_ENV, previous);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candidateTable() puts the built-in parameters first and measures each set once", () => {
  for (const tuning of ["software", "hardware"] as const) {
    for (const kernel of Object.keys(CANDIDATES) as (keyof typeof CANDIDATES)[]) {
      const builtIn = TUNINGS[tuning][kernel];
      const table = candidateTable(kernel, builtIn);
      assert.deepEqual(table[0], builtIn);
      for (const [i, a] of table.entries()) {
        for (const b of table.slice(i + 1)) {
          assert.ok(!sameParameters(a, b), `${tuning} ${kernel}: ${JSON.stringify(a)} twice`);
        }
      }
      const listed = CANDIDATES[kernel].some((c) => sameParameters(c, builtIn));
      assert.equal(table.length, CANDIDATES[kernel].length + (listed ? 0 : 1));
    }
  }
});

Deno.test("sameParameters() ignores key order and reads an absent layout as registers", () => {
  const a = { workgroupSize: 8, template: { ROW_BLOCKS: 8, COL_BLOCKS: 16 } };
  const b = {
    layout: "registers" as const,
    template: { COL_BLOCKS: 16, ROW_BLOCKS: 8 },
    workgroupSize: 8,
  };
  assert.ok(sameParameters(a, b));
  assert.ok(!sameParameters(a, { ...b, layout: "workgroup-tiles" }));
  assert.ok(!sameParameters(a, { ...a, template: { ROW_BLOCKS: 8, COL_BLOCKS: 8 } }));
});
