/**
 * What a GPU task says when WebGPU finds no adapter: one line with the fix, and the exit code
 * (2, a setup problem; 1 in CI, where a missing adapter is a failure).
 *
 * @module
 */

import { NATIVE_WEBGPU_BACKENDS } from "../gpu/backends.ts";

/** Print the no-adapter error and return the exit code. */
export function reportNoAdapter(): number {
  const inCi = Deno.env.get("CI") === "true";
  console.error(
    "error: no GPU adapter found (WebGPU found no device). On Linux without a GPU, install " +
      "Mesa's software Vulkan driver: apt-get install mesa-vulkan-drivers (or name backends, " +
      "e.g. DENO_WEBGPU_BACKEND=gl; the default is " + NATIVE_WEBGPU_BACKENDS + ")." +
      (inCi ? " In CI this is a failure." : ""),
  );
  return inCi ? 1 : 2;
}
