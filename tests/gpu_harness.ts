/**
 * What the GPU tests share: one device per test file (opened before the tests, destroyed when the
 * module unloads: its pipeline cache spares each test lavapipe's compilations), a test that skips
 * without an adapter (and fails without one in CI), and a forward checked against the float64
 * oracle.
 */

import assert from "node:assert/strict";
import type { GpuContext } from "../src/gpu/device.ts";
import { GpuAttention, type GpuAttentionOptions } from "../src/gpu/gpu_attention.ts";
import { attentionOracle } from "../src/gpu/oracle.ts";
import { compareOutputs } from "../src/gpu/validation.ts";
import type { VariantName } from "../src/config.ts";
import { generateInputs } from "../src/random.ts";
import type { AttentionShape } from "../src/shape.ts";
import { IN_CI, openTestGpu } from "./test_gpu.ts";

/**
 * One device for the whole file, opened before the tests and destroyed when the module unloads:
 * its pipeline cache spares each test lavapipe's compilations (seconds each without Mesa's cache).
 */
export const GPU = await openTestGpu("GpuAttention tests");
globalThis.addEventListener("unload", () => GPU?.destroy());

/** Whether this process has a GPU for the tests. */
export const HAS_ADAPTER = GPU !== null;

/** A test that needs a GPU: skipped without an adapter, failed without one in CI. */
export function gpuTest(name: string, fn: (gpu: GpuContext) => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: !HAS_ADAPTER && !IN_CI,
    async fn() {
      if (GPU === null) throw new Error("CI=true but WebGPU found no GPU adapter");
      await fn(GPU);
    },
  });
}

export async function runForward(
  gpu: GpuContext,
  variant: VariantName,
  shape: AttentionShape,
  options: GpuAttentionOptions = {},
) {
  const inputs = generateInputs(shape, 1234 + shape.seqLen);
  const attention = await GpuAttention.create(gpu, variant, shape, options);
  try {
    await attention.upload(inputs);
    await attention.poison();
    const timing = await attention.forward();
    const { out } = await attention.readback();
    return {
      timing,
      out,
      oracle: new Float32Array(attentionOracle(inputs)),
      memory: attention.memory(),
      windows: attention.scoreWindows.length,
      stageNames: attention.stageNames,
    };
  } finally {
    attention.destroy();
  }
}

export function assertMatchesOracle(
  result: { out: Float32Array; oracle: Float32Array; tolerance?: number },
  label: string,
): void {
  const validation = compareOutputs(result.out, result.oracle, result.tolerance ?? 1e-5);
  assert.ok(
    validation.passed,
    `${label}: relative L2 ${validation.relL2Error}, max abs ${validation.maxAbsError}`,
  );
}
