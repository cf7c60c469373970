/**
 * GPU tests: they run on whatever adapter WebGPU finds (lavapipe on machines without a GPU). Without
 * an adapter they are skipped with a message, except in CI (CI=true), where they fail.
 *
 * The tests share one device. Shapes are small: lavapipe compiles each pipeline at its first
 * dispatch (seconds for the big register blocks; Mesa caches them on disk), so the first test
 * that uses a kernel pays for it.
 */

import assert from "node:assert/strict";
import { assertMatchesOracle, gpuTest, runForward } from "./gpu_harness.ts";
import { BufferTracker } from "../src/gpu/buffer_tracker.ts";
import { GpuAttention, GpuForwardError } from "../src/gpu/gpu_attention.ts";
import {
  createComputePipeline,
  KernelBuildError,
  kernelPipeline,
  KERNELS,
} from "../src/gpu/kernels.ts";
import { CANDIDATES } from "../src/gpu/tuning.ts";
import { StageTimestamps } from "../src/gpu/timestamps.ts";
import type { AttentionShape } from "../src/shape.ts";

gpuTest(
  "openGpu() opens a device with the adapter's limits and describes the adapter",
  async (gpu) => {
    const adapter = (await navigator.gpu.requestAdapter())!;
    assert.equal(
      gpu.device.limits.maxStorageBufferBindingSize,
      adapter.limits.maxStorageBufferBindingSize,
    );
    assert.equal(gpu.device.limits.maxBufferSize, adapter.limits.maxBufferSize);
    assert.equal(gpu.hasTimestamps, adapter.features.has("timestamp-query"));
    assert.ok(gpu.adapter.description.length > 0);
    if (/llvmpipe|lavapipe/i.test(gpu.adapter.description)) assert.ok(gpu.adapter.isSoftware);
  },
);

gpuTest(
  "the software-tuned variants match a float64 oracle at awkward sizes, n = 1 included",
  async (gpu) => {
    const shapes: AttentionShape[] = [
      { seqLen: 1, dModel: 64, heads: 4 },
      { seqLen: 2, dModel: 96, heads: 3 },
      { seqLen: 7, dModel: 32, heads: 2 },
      { seqLen: 65, dModel: 64, heads: 4 },
      { seqLen: 130, dModel: 96, heads: 3 },
    ];
    for (const variant of ["naive", "fused"] as const) {
      for (const shape of shapes) {
        const result = await runForward(gpu, variant, shape, { tuning: "software" });
        assertMatchesOracle(result, `${variant} ${JSON.stringify(shape)}`);
      }
    }
  },
);

gpuTest("the hardware-tuned variants match a float64 oracle (d_k 64, one head)", async (gpu) => {
  for (const variant of ["naive", "fused"] as const) {
    for (const seqLen of [1, 33, 100]) {
      const shape = { seqLen, dModel: 64, heads: 1 };
      const result = await runForward(gpu, variant, shape, { tuning: "hardware" });
      assertMatchesOracle(result, `${variant} n=${seqLen}`);
    }
  }
});

gpuTest(
  "every workgroup-tile candidate matches a float64 oracle off every tile (n = 1, 70)",
  async (gpu) => {
    const kernels = ["projection", "flash_attention", "scores", "weighted_values"] as const;
    const tiled = kernels.flatMap((kernel) =>
      CANDIDATES[kernel].filter((c) => c.layout === "workgroup-tiles").map((c) => ({ kernel, c }))
    );
    assert.equal(new Set(tiled.map((t) => t.kernel)).size, kernels.length);
    for (const seqLen of [1, 70]) {
      for (const { kernel, c } of tiled) {
        const variant = kernel === "projection" || kernel === "flash_attention" ? "fused" : "naive";
        // inner 30 vec4 and d_k 10 vec4: no multiple of any TILE_INNER, so tiles are zero-filled
        const shape = { seqLen, dModel: 120, heads: 3 };
        const result = await runForward(gpu, variant, shape, { parameters: { [kernel]: c } });
        assertMatchesOracle(result, `${kernel} ${JSON.stringify(c.template)} n=${seqLen}`);
      }
    }
  },
);

gpuTest("a workgroup-tile projection whose lanes do not make its workgroup is refused", (gpu) => {
  const parameters = {
    workgroupSize: 64,
    layout: "workgroup-tiles" as const,
    template: { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 8, COL_LANES: 4, TILE_INNER: 4 },
  };
  assert.throws(
    () => kernelPipeline(gpu.device, KERNELS.projection, parameters),
    /ROW_LANES × COL_LANES = 32 is not the workgroup size 64/,
  );
});

gpuTest(
  "naive splits the scores into windows of heads or of rows and still matches",
  async (gpu) => {
    const shape = { seqLen: 37, dModel: 64, heads: 4 };
    const rowBytes = 40 * 4; // n rounded up to 4 keys, 4 bytes each
    // room for two heads per window: two windows
    const byHeads = await runForward(gpu, "naive", shape, {
      maxScoreWindowBytes: 2 * 37 * rowBytes,
    });
    assert.equal(byHeads.windows, 2);
    assertMatchesOracle(byHeads, "windows of two heads");
    // room for 10 rows: four windows per head
    const byRows = await runForward(gpu, "naive", shape, { maxScoreWindowBytes: 10 * rowBytes });
    assert.equal(byRows.windows, 16);
    assertMatchesOracle(byRows, "windows of 10 rows");
  },
);

gpuTest("stage times sum to no more than the forward's wall span", async (gpu) => {
  for (const variant of ["naive", "fused"] as const) {
    const result = await runForward(gpu, variant, { seqLen: 96, dModel: 64, heads: 4 });
    const { wallMs, stageMs } = result.timing;
    assert.ok(wallMs > 0);
    if (!gpu.hasTimestamps) {
      assert.equal(stageMs, null);
      continue;
    }
    assert.ok(stageMs !== null);
    assert.equal(stageMs.length, result.stageNames.length);
    assert.ok(stageMs.every((ms) => ms >= 0));
    const sum = stageMs.reduce((a, b) => a + b, 0);
    assert.ok(sum <= wallMs, `${variant}: stages ${sum} ms > wall ${wallMs} ms`);
  }
});

gpuTest("naive holds the full score matrices; fused memory grows linearly with n", async (gpu) => {
  const shape = (seqLen: number) => ({ seqLen, dModel: 32, heads: 2 });
  const naive = await runForward(gpu, "naive", shape(256));
  const scoreBytes = 2 * 256 * 256 * 4; // heads × n × n × 4 bytes
  assert.equal(naive.memory.peakBytesByClass.scores, scoreBytes);
  assert.ok(naive.memory.peakBytes >= scoreBytes);
  const classSum = Object.values(naive.memory.peakBytesByClass).reduce((a, b) => a + b, 0);
  assert.equal(classSum, naive.memory.peakBytes);
  const naive2 = await runForward(gpu, "naive", shape(512));
  assert.ok(naive2.memory.peakBytes / naive.memory.peakBytes > 3, "naive: ~n²");

  const fused = await runForward(gpu, "fused", shape(256));
  const fused2 = await runForward(gpu, "fused", shape(512));
  assert.equal(fused.memory.peakBytesByClass.scores, 0);
  const ratio = fused2.memory.peakBytes / fused.memory.peakBytes;
  assert.ok(ratio > 1.5 && ratio < 2.5, `fused peak(2n)/peak(n) = ${ratio}, expected ≈ 2`);
  assertMatchesOracle(fused2, "fused n=512");
});

gpuTest("a WGSL compile error surfaces the compiler's message", async (gpu) => {
  await assert.rejects(
    createComputePipeline(gpu.device, {
      label: "broken",
      code: "@compute @workgroup_size(1) fn main() { let x = undefined_thing + 1; }",
      entryPoint: "main",
    }),
    (error: unknown) => {
      assert.ok(error instanceof KernelBuildError);
      assert.match(error.message, /broken/);
      assert.match(error.message, /undefined_thing|no definition|unknown identifier/i);
      return true;
    },
  );
});

gpuTest("BufferTracker counts live bytes by class and keeps the peak", (gpu) => {
  const tracker = new BufferTracker(gpu.device);
  const usage = GPUBufferUsage.STORAGE;
  const a = tracker.create("weights", { size: 1024, usage });
  const b = tracker.create("scores", { size: 4096, usage });
  assert.equal(tracker.liveBytes, 5120);
  tracker.destroy(b);
  tracker.destroy(b);
  assert.equal(tracker.liveBytes, 1024);
  assert.equal(tracker.peakBytes, 5120);
  assert.deepEqual(tracker.peakBytesByClass, {
    weights: 1024,
    activations: 0,
    scores: 4096,
    staging: 0,
  });
  tracker.resetPeak();
  assert.equal(tracker.peakBytes, 1024);
  tracker.destroy(a);
  assert.equal(tracker.liveBytes, 0);
});

gpuTest("StageTimestamps records nothing when disabled and null is read back", async (gpu) => {
  const tracker = new BufferTracker(gpu.device);
  const timer = new StageTimestamps(gpu.device, tracker, 2, false);
  assert.equal(timer.enabled, false);
  assert.equal(timer.passTimestampWrites(0), undefined);
  assert.equal(await timer.read(), null);
  assert.equal(tracker.liveBytes, 0);
  timer.destroy();
});

gpuTest("a destroyed GpuAttention refuses to run", async (gpu) => {
  const attention = await GpuAttention.create(gpu, "fused", { seqLen: 4, dModel: 32, heads: 2 });
  attention.destroy();
  await assert.rejects(attention.forward(), GpuForwardError);
});
