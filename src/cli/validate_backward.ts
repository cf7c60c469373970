/**
 * The backward's part of `deno task validate`: each GPU variant's backward (where it is built)
 * against the CPU path's backward, gradient by gradient (src/gpu/gradient_validation.ts), the worst
 * gradient reported.
 *
 * @module
 */

import type { GpuContext } from "../gpu/device.ts";
import { GpuAttention } from "../gpu/gpu_attention.ts";
import { backwardUnsupported, GpuBackward } from "../gpu/gpu_backward.ts";
import { compareGradients } from "../gpu/gradient_validation.ts";
import type { Precision, TuningName } from "../gpu/kernels.ts";
import { GPU_TOLERANCES } from "../gpu/validation.ts";
import type { AttentionGradients } from "../gradients.ts";
import type { AttentionInputs } from "../shape.ts";
import type { VariantName } from "../variants/registry.ts";
import type { ValidationRow } from "./validate.ts";

/** Run one variant's forward and backward at one shape and compare every gradient. */
export async function validateBackwardPoint(
  gpu: GpuContext,
  variant: VariantName,
  inputs: AttentionInputs,
  dOut: Float32Array,
  reference: AttentionGradients,
  options: { tuning?: TuningName; precision: Precision },
): Promise<ValidationRow> {
  const { tuning, precision } = options;
  const shape = inputs.shape, row = { variant, precision, shape, pass: "backward" as const };
  const unsupported = backwardUnsupported(variant, shape);
  if (unsupported !== null) return { ...row, status: "skipped", reason: unsupported };
  const fit = GpuAttention.preflight(gpu, variant, shape, { tuning, precision });
  if (!fit.fits) return { ...row, status: "skipped", reason: fit.reason };
  let forward: GpuAttention | null = null, backward: GpuBackward | null = null;
  try {
    forward = await GpuAttention.create(gpu, variant, shape, { tuning, precision });
    backward = await GpuBackward.create(gpu, variant, shape, {
      precision,
      tuning: tuning ?? (gpu.adapter.isSoftware ? "software" : "hardware"),
      forward: forward.keptBuffers(),
    });
    await forward.upload(inputs);
    await backward.upload(inputs, dOut);
    await forward.forward();
    await backward.backward();
    const results = Object.values(
      compareGradients(await backward.readGradients(), reference, GPU_TOLERANCES[precision]),
    );
    const validation = results.find((r) => !r.passed) ??
      results.reduce((worst, r) => r.relL2Error > worst.relL2Error ? r : worst);
    return { ...row, status: validation.passed ? "passed" : "FAILED", validation };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ...row, status: "FAILED", reason };
  } finally {
    backward?.destroy();
    forward?.destroy();
  }
}
