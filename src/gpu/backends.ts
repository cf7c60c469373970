/**
 * Which of wgpu's backends Deno's WebGPU loads. Deno reads `DENO_WEBGPU_BACKEND` once, when the
 * first `requestAdapter()` of a process creates its WebGPU instance. Unset, wgpu loads its OpenGL
 * backend beside Vulkan, and Mesa's OpenGL driver (EGL over llvmpipe) corrupts the heap at exit of a
 * process that created and dropped several instances: a `deno test` run of 30 modules each opening
 * a device aborted with "double free or corruption" (exit 134) in 4 of 14 runs here, and in none
 * of 8 with Vulkan alone. A profiler wants the native APIs anyway, so unless the user names
 * backends, the tool asks for Vulkan, Metal and Direct3D 12.
 *
 * @module
 */

/** What the tool asks for when the user names no backend: the native APIs, never OpenGL. */
export const NATIVE_WEBGPU_BACKENDS = "vulkan,metal,dx12";

const BACKEND_VARIABLE = "DENO_WEBGPU_BACKEND";

let choice: { userBackends: string | undefined } | undefined;

/**
 * Set `DENO_WEBGPU_BACKEND` to {@link NATIVE_WEBGPU_BACKENDS} unless the user set it; call before
 * the process's first `requestAdapter()`. Returns the user's value, or `undefined` when the
 * default applies. Without `--allow-env` it changes nothing.
 *
 * @example
 * ```ts
 * const userBackends = selectWebGpuBackends();
 * const adapter = await navigator.gpu.requestAdapter();
 * console.log(userBackends ?? "native backends", adapter?.info.description);
 * ```
 */
export function selectWebGpuBackends(): string | undefined {
  if (choice === undefined) {
    let userBackends: string | undefined;
    try {
      userBackends = Deno.env.get(BACKEND_VARIABLE);
      if (userBackends === undefined) Deno.env.set(BACKEND_VARIABLE, NATIVE_WEBGPU_BACKENDS);
    } catch {
      userBackends = undefined; // no --allow-env: wgpu's own default
    }
    choice = { userBackends };
  }
  return choice.userBackends;
}
