/**
 * Numerics: inputs scaled by 1e3 and by 1e-3 give finite outputs on every GPU variant that match the
 * CPU path (every softmax subtracts its row maximum, so large scores cannot overflow exp).
 */
import assert from "node:assert/strict";
import { VARIANT_NAMES } from "../src/config.ts";
import { GpuAttention } from "../src/gpu/gpu_attention.ts";
import { compareOutputs } from "../src/gpu/validation.ts";
import { generateInputs } from "../src/random.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import { VARIANTS } from "../src/variants/registry.ts";
import { IN_CI, openTestGpu } from "./test_gpu.ts";

const gpu = await openTestGpu("GPU numerics tests");
globalThis.addEventListener("unload", () => gpu?.destroy());

for (const scale of [1e3, 1e-3]) {
  for (const variant of VARIANT_NAMES) {
    Deno.test({
      name:
        `GpuAttention ${variant} with inputs scaled by ${scale} is finite and matches the CPU path`,
      ignore: gpu === null && !IN_CI,
      async fn() {
        if (gpu === null) throw new Error("CI=true but WebGPU found no GPU adapter");
        const shape = { seqLen: 37, dModel: 96, heads: 3, attention: VARIANTS[variant].attention };
        const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
        const inputs = generateInputs(shape, seed);
        inputs.x.forEach((value, i) => inputs.x[i] = value * scale);
        const reference = await cpuAttentionForward(inputs, { workers: 1 });
        assert.ok(reference.every(Number.isFinite), `CPU output not finite (seed ${seed})`);
        const attention = await GpuAttention.create(gpu, variant, shape);
        try {
          await attention.upload(inputs);
          await attention.forward();
          const { out } = await attention.readback();
          assert.ok(out.every(Number.isFinite), `GPU output not finite (seed ${seed})`);
          const comparison = compareOutputs(out, reference, 1e-4);
          assert.ok(comparison.passed, `seed ${seed}: rel L2 ${comparison.relL2Error}`);
        } finally {
          attention.destroy();
        }
      },
    });
  }
}
