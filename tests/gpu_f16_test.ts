/**
 * f16 storage precision of the GPU variants: each variant in f16 against the CPU path within the
 * f16 tolerance at small awkward shapes, its output different from the f32 output (so f16 really
 * ran), half the buffer bytes, and the preflight's refusal on a device without "shader-f16".
 * Skipped without an adapter (or one without "shader-f16") unless CI=true, where they fail.
 *
 * The kernels run with the `hardware` parameters: the same WGSL as `software` with small register
 * blocks, which lavapipe compiles in a fraction of the time (14 s for this file without Mesa's
 * shader cache, against 85 s with the software blocks).
 */

import assert from "node:assert/strict";
import type { GpuContext } from "../src/gpu/device.ts";
import { GpuAttention, NO_SHADER_F16 } from "../src/gpu/gpu_attention.ts";
import { fakeGpuContext } from "./fake_gpu.ts";
import type { Precision } from "../src/gpu/kernels.ts";
import { compareOutputs, GPU_TOLERANCES } from "../src/gpu/validation.ts";
import type { VariantName } from "../src/config.ts";
import { generateInputs } from "../src/random.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import type { AttentionShape } from "../src/shape.ts";
import { IN_CI, openTestGpu } from "./test_gpu.ts";

const GPU = await openTestGpu("f16 GPU tests");
globalThis.addEventListener("unload", () => GPU?.destroy());
const HAS_F16 = GPU?.device.features.has("shader-f16") ?? false;
if (GPU !== null && !HAS_F16 && !IN_CI) {
  console.log("f16 GPU tests skipped: the adapter has no shader-f16");
}

/** A test that needs a device with "shader-f16": skipped without one, failed without one in CI. */
function f16Test(name: string, fn: (gpu: GpuContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !HAS_F16 && !IN_CI,
    async fn() {
      if (GPU === null || !HAS_F16) {
        throw new Error("CI=true but WebGPU found no adapter with shader-f16");
      }
      await fn(GPU);
    },
  });
}

async function runForward(
  gpu: GpuContext,
  variant: VariantName,
  shape: AttentionShape,
  precision: Precision,
) {
  const attention = await GpuAttention.create(gpu, variant, shape, {
    tuning: "hardware",
    precision,
  });
  try {
    assert.equal(attention.precision, precision);
    await attention.upload(generateInputs(shape, 77 + shape.seqLen));
    await attention.poison();
    await attention.forward();
    const { out } = await attention.readback();
    return { out, memory: attention.memory() };
  } finally {
    attention.destroy();
  }
}

const SHAPES: AttentionShape[] = [
  { seqLen: 1, dModel: 64, heads: 1 },
  { seqLen: 65, dModel: 64, heads: 1 },
  { seqLen: 1, dModel: 96, heads: 3 },
  { seqLen: 65, dModel: 96, heads: 3 },
];

f16Test(
  "both variants in f16 match the CPU path within the f16 tolerance, and differ from f32",
  async (gpu) => {
    for (const variant of ["naive", "fused"] as const) {
      for (const shape of SHAPES) {
        const label = `${variant} ${JSON.stringify(shape)}`;
        const reference = await cpuAttentionForward(generateInputs(shape, 77 + shape.seqLen), {
          workers: 1,
        });
        const f16 = await runForward(gpu, variant, shape, "f16");
        const f32 = await runForward(gpu, variant, shape, "f32");
        const validation = compareOutputs(f16.out, reference, GPU_TOLERANCES.f16);
        assert.ok(
          validation.passed,
          `${label}: relative L2 ${validation.relL2Error}, max abs ${validation.maxAbsError}`,
        );
        // f16 rounding (2⁻¹¹ relative) is far above the f32 path's error: the outputs must differ
        const versusF32 = compareOutputs(f16.out, f32.out, GPU_TOLERANCES.f16);
        assert.ok(versusF32.relL2Error > 1e-5, `${label}: f16 output equals the f32 output`);
        assert.ok(
          f16.memory.peakBytesByClass.weights! * 2 === f32.memory.peakBytesByClass.weights!,
        );
      }
    }
  },
);

Deno.test("GpuAttention.preflight() refuses f16 on a device without shader-f16", async () => {
  const ctx = fakeGpuContext({ features: ["timestamp-query"] });
  const shape = { seqLen: 16, dModel: 64, heads: 1 };
  for (const variant of ["naive", "fused"] as const) {
    const f16 = GpuAttention.preflight(ctx, variant, shape, { precision: "f16" });
    assert.equal(f16.fits, false);
    assert.equal(!f16.fits && f16.reason, NO_SHADER_F16);
    assert.equal(GpuAttention.preflight(ctx, variant, shape).fits, true);
    await assert.rejects(
      GpuAttention.create(ctx, variant, shape, { precision: "f16" }),
      new RegExp(NO_SHADER_F16),
    );
  }
});
