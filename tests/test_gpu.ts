/**
 * The GPU of the test modules that use it in-process: the native backends only. The suite opens
 * WebGPU in several modules of one process, and Mesa's GL driver has corrupted the heap of such
 * processes at exit (src/gpu/backends.ts), so the GL fallback runs in fresh processes only
 * (tests/gl_fallback_test.ts); here a machine without a native adapter skips the GPU tests.
 */
import { type GpuContext, openGpu } from "../src/gpu/device.ts";
import { NATIVE_WEBGPU_BACKENDS } from "../src/gpu/backends.ts";

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

/**
 * The environment for a child process (pass with `clearEnv: true`): this one's, without the
 * native-backend DENO_WEBGPU_BACKEND that the test process sets itself where the user did not (a
 * test module that opens WebGPU sets it for the whole process): a child that inherited it would
 * take it for the user's choice and never fall back to GL.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  if (env.DENO_WEBGPU_BACKEND === NATIVE_WEBGPU_BACKENDS) delete env.DENO_WEBGPU_BACKEND;
  return { ...env, NO_COLOR: "1", ...extra };
}
