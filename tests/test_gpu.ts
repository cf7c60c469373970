/**
 * The GPU of the test modules that use it in-process: the native backends only. The suite opens
 * WebGPU in several modules of one process, and Mesa's GL driver has corrupted the heap of such
 * processes at exit (src/gpu/backends.ts), so the GL fallback runs in fresh processes only
 * (tests/gl_fallback_test.ts); here a machine without a native adapter skips the GPU tests.
 */
import { type GpuContext, openGpu } from "../src/gpu/device.ts";

/** Whether a missing adapter fails the GPU tests (CI) instead of skipping them. */
export const IN_CI = Deno.env.get("CI") === "true";

/** The line that says why `what` is skipped. */
export function skippedLine(what: string): string {
  return `${what} skipped: WebGPU found no native (Vulkan, Metal, Direct3D 12) adapter; the ` +
    "GL fallback is not used in the test process, where several WebGPU instances met Mesa's GL " +
    "heap corruption at exit (tests/gl_fallback_test.ts runs GL in fresh processes)";
}

/** This process's GPU on the native backends, or null (after printing why `what` is skipped). */
export async function openTestGpu(what: string): Promise<GpuContext | null> {
  const gpu = await openGpu({ glFallback: false }).catch(() => null);
  if (gpu === null && !IN_CI) console.log(skippedLine(what));
  return gpu;
}
