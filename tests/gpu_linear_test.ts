/**
 * The linear variant on the GPU against the float64 oracle: full and causal masks, lengths on
 * and off the causal chunks (64 keys), f16 storage; and its memory grows as n.
 */

import assert from "node:assert/strict";
import { assertMatchesOracle, gpuTest, runForward } from "./gpu_harness.ts";
import type { AttentionShape, MaskName } from "../src/shape.ts";

const shape = (seqLen: number, mask: MaskName, dModel = 32, heads = 2): AttentionShape => ({
  seqLen,
  dModel,
  heads,
  mask,
  attention: "linear",
});

gpuTest(
  "linear attention matches the oracle, full and causal, on and off the chunks",
  async (gpu) => {
    for (const mask of ["full", "causal"] as const) {
      for (const n of [1, 2, 63, 65, 130, 600]) { // 600: three full-mask chunks of 256
        const result = await runForward(gpu, "linear", shape(n, mask));
        assertMatchesOracle(result, `linear ${mask} n=${n}`);
        assert.deepEqual(result.stageNames, [
          "projection_qkv",
          "linear_state",
          "linear_prefix",
          "linear_output",
          "output_projection",
        ]);
      }
    }
    const wide = await runForward(gpu, "linear", shape(70, "causal", 512, 8));
    assertMatchesOracle(wide, "linear causal d_model 512, 8 heads");
  },
);

gpuTest("linear attention stores no scores and its memory grows as n", async (gpu) => {
  const small = await runForward(gpu, "linear", shape(512, "causal"));
  const large = await runForward(gpu, "linear", shape(1024, "causal"));
  assert.equal(small.memory.peakBytesByClass.scores ?? 0, 0);
  const ratio = large.memory.peakBytes / small.memory.peakBytes;
  assert.ok(ratio > 1.5 && ratio < 2.2, `peak(2n)/peak(n) = ${ratio}, expected ≈ 2`);
});

gpuTest("linear attention in f16 storage stays within the f16 tolerance", async (gpu) => {
  if (!gpu.device.features.has("shader-f16")) return;
  const result = await runForward(gpu, "linear", shape(65, "causal"), { precision: "f16" });
  assertMatchesOracle({ ...result, tolerance: 1e-2 }, "linear causal f16");
});
