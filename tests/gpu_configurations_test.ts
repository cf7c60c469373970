/**
 * Every attention configuration on the GPU against the float64 oracle: masks (full, causal,
 * sliding:W) × kv_heads {1, 2, heads} × batch {1, 3} at n = 1, 2, 63, 65 and 200, in both softmax
 * variants and both layouts (`software`: register blocks; `hardware`: workgroup tiles), and linear
 * attention (full, causal); f16 for a few; and what the naive variant stores of a sliding window
 * (the band, not n × n).
 *
 * d_model 32 and 4 heads (d_k 8) keep lavapipe's compilations short; the software projection runs
 * with small blocks (its big ones take many seconds to compile and do not depend on the mask).
 */

import assert from "node:assert/strict";
import type { GpuAttentionOptions } from "../src/gpu/gpu_attention.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";
import type { AttentionShape, MaskName } from "../src/shape.ts";
import { assertMatchesOracle, gpuTest, runForward } from "./gpu_harness.ts";

const HEADS = 4;
const SEQ_LENS = [1, 2, 63, 65, 200];
/**
 * The grid of configurations at one length. The window W is not a multiple of 4; at the short
 * lengths it is longer than the shortest sequences and shorter than the longest, at n = 200 it
 * spans several query blocks.
 */
function configurations(seqLen: number): AttentionShape[] {
  const masks: { mask: MaskName; window?: number }[] = [
    { mask: "full" },
    { mask: "causal" },
    { mask: "sliding", window: seqLen > 100 ? 37 : 5 },
  ];
  return masks.flatMap((mask) =>
    [1, 2, HEADS].flatMap((kvHeads) =>
      [1, 3].map((batch) => ({ seqLen, dModel: 32, heads: HEADS, kvHeads, batch, ...mask }))
    )
  );
}

const LAYOUTS: Record<string, GpuAttentionOptions> = {
  registers: {
    tuning: "software",
    parameters: { projection: { workgroupSize: 8, template: { ROW_BLOCKS: 2, COL_BLOCKS: 2 } } },
  },
  "workgroup-tiles": { tuning: "hardware" },
};

for (const [layout, options] of Object.entries(LAYOUTS)) {
  for (const variant of ["naive", "fused"] as const) {
    gpuTest(
      `${variant} (${layout}): every mask × kv_heads × batch matches the oracle`,
      async (gpu) => {
        for (const seqLen of SEQ_LENS) {
          for (const shape of configurations(seqLen)) {
            assertMatchesOracle(
              await runForward(gpu, variant, shape, options),
              JSON.stringify(shape),
            );
          }
        }
      },
    );
  }
}

gpuTest("linear: full and causal × kv_heads × batch match the oracle", async (gpu) => {
  for (const seqLen of SEQ_LENS) {
    const shapes = configurations(seqLen).filter((shape) => shape.mask !== "sliding");
    for (const shape of shapes) {
      const linear = { ...shape, attention: "linear" as const };
      const result = await runForward(gpu, "linear", linear, LAYOUTS.registers);
      assertMatchesOracle(result, JSON.stringify(linear));
    }
  }
});

gpuTest("f16 storage runs the masks, GQA and batches within the f16 tolerance", async (gpu) => {
  if (!gpu.device.features.has("shader-f16")) return;
  const shapes: AttentionShape[] = [
    { seqLen: 65, dModel: 32, heads: HEADS, kvHeads: 2, batch: 3, mask: "causal" },
    { seqLen: 63, dModel: 32, heads: HEADS, kvHeads: 1, batch: 1, mask: "sliding", window: 9 },
  ];
  for (const shape of shapes) {
    for (const variant of ["naive", "fused"] as const) {
      for (const options of Object.values(LAYOUTS)) {
        const result = await runForward(gpu, variant, shape, { ...options, precision: "f16" });
        const validation = compareOutputs(result.out, result.oracle, GPU_TOLERANCES.f16);
        assert.ok(
          validation.passed,
          `${variant} f16 ${JSON.stringify(shape)}: ${validation.relL2Error}`,
        );
      }
    }
  }
});

gpuTest(
  "naive sliding:W stores only the band of scores: n × (⌊(W+2)/4⌋+1) vec4 per head",
  async (gpu) => {
    const shape = {
      seqLen: 256,
      dModel: 32,
      heads: 2,
      batch: 2,
      mask: "sliding" as const,
      window: 16,
    };
    const result = await runForward(gpu, "naive", shape);
    assertMatchesOracle(result, "sliding:16");
    const bandBytes = 2 * 2 * 256 * (Math.floor(18 / 4) + 1) * 4 * 4; // batch·heads·n·vec4·4·f32
    assert.equal(result.memory.peakBytesByClass.scores, bandBytes);
    const full = await runForward(gpu, "naive", { ...shape, mask: "full" as const });
    assert.equal(full.memory.peakBytesByClass.scores, 2 * 2 * 256 * 256 * 4);
  },
);
