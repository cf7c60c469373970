/**
 * Which of wgpu's backends Deno's WebGPU loads. Deno reads `DENO_WEBGPU_BACKEND` once per runtime,
 * when its first `requestAdapter()` creates its WebGPU instance; a later change has no effect there.
 *
 * Unset, wgpu loads its OpenGL backend beside Vulkan, and Mesa's OpenGL driver (EGL over llvmpipe)
 * corrupts the heap at exit of a process that created and dropped several instances: a `deno test`
 * run of 30 modules each opening a device aborted with "double free or corruption" (exit 134) in 4
 * of 14 runs here, and in none of 8 with Vulkan alone. A profiler wants the native APIs anyway, so
 * unless the user names backends, the tool asks for Vulkan, Metal and Direct3D 12 — and where they
 * find no adapter (a machine with Mesa's OpenGL driver but no Vulkan driver), for OpenGL alone: a
 * Worker (its own runtime, so its own instance) asks the native backends first. A single-instance
 * process on OpenGL exited cleanly in every run measured (see README.md, "The GPU path without a
 * Vulkan driver").
 *
 * @module
 */

import type { AdapterDescription } from "../results.ts";

/** What the tool asks for when the user names no backend: the native APIs, never OpenGL. */
export const NATIVE_WEBGPU_BACKENDS = "vulkan,metal,dx12";

/** What the tool falls back to when the native backends find no adapter. */
export const FALLBACK_WEBGPU_BACKEND = "gl";

const BACKEND_VARIABLE = "DENO_WEBGPU_BACKEND";

/**
 * Where the backends came from: the user's DENO_WEBGPU_BACKEND, the tool's native default, the GL
 * fallback, or wgpu's own default (the process may not read the environment).
 */
export type BackendSource = "user" | "native" | "gl-fallback" | "wgpu-default";

/** The backends WebGPU loads in this process, and why. */
export interface BackendChoice {
  /** DENO_WEBGPU_BACKEND as WebGPU reads it; undefined: wgpu's default (all backends) */
  backends: string | undefined;
  source: BackendSource;
}

let choice: { userBackends: string | undefined } | undefined;
let fallbackChoice: Promise<BackendChoice> | undefined;

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

/**
 * Whether WebGPU in a fresh Worker (its own runtime and instance, this process's backends) finds an
 * adapter; true when the Worker cannot say, so that the backends are not switched on a guess.
 */
async function _workerFindsAdapter(): Promise<boolean> {
  const source = `const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
postMessage(adapter != null);`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  let worker: Worker | undefined;
  try {
    worker = new Worker(url, { type: "module" });
    return await new Promise<boolean>((resolve) => {
      worker!.onmessage = (event) => resolve(event.data === true);
      worker!.onerror = (event) => {
        event.preventDefault();
        resolve(true);
      };
    });
  } catch {
    return true;
  } finally {
    worker?.terminate();
    URL.revokeObjectURL(url);
  }
}

/**
 * {@link selectWebGpuBackends}, then, when the user named no backend and the native backends find
 * no adapter, `DENO_WEBGPU_BACKEND=gl` (unless `glFallback` is false); call before this runtime's
 * first `requestAdapter()`. The first call of a runtime decides.
 *
 * @example
 * ```ts
 * const { backends, source } = await chooseWebGpuBackends();
 * console.log(`${backends ?? "wgpu default"} (${source})`);
 * ```
 */
export function chooseWebGpuBackends(
  options: { glFallback?: boolean } = {},
): Promise<BackendChoice> {
  return fallbackChoice ??= (async (): Promise<BackendChoice> => {
    const userBackends = selectWebGpuBackends();
    if (userBackends !== undefined) return { backends: userBackends, source: "user" };
    let backends: string | undefined;
    try {
      backends = Deno.env.get(BACKEND_VARIABLE);
    } catch {
      backends = undefined;
    }
    if (backends !== NATIVE_WEBGPU_BACKENDS) return { backends, source: "wgpu-default" };
    if (options.glFallback === false || await _workerFindsAdapter()) {
      return { backends, source: "native" };
    }
    Deno.env.set(BACKEND_VARIABLE, FALLBACK_WEBGPU_BACKEND);
    return { backends: FALLBACK_WEBGPU_BACKEND, source: "gl-fallback" };
  })();
}

/** The operating systems each backend exists on (absent: all). */
const BACKEND_SYSTEMS: Readonly<Record<string, readonly (typeof Deno.build.os)[]>> = {
  metal: ["darwin"],
  dx12: ["windows"],
};

/** wgpu's backends, as DENO_WEBGPU_BACKEND names them. */
const KNOWN_BACKENDS = ["vulkan", "metal", "dx12", "gl", "webgpu"];

/**
 * The backends of a DENO_WEBGPU_BACKEND value that exist on an OS, e.g. "vulkan" for the native
 * default on Linux; the value itself when none is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert(backendsOn("vulkan,metal,dx12", "linux") === "vulkan");
 * ```
 */
export function backendsOn(backends: string, os: typeof Deno.build.os): string {
  const names = backends.split(",").map((name) => name.trim().toLowerCase()).filter((name) =>
    KNOWN_BACKENDS.includes(name) && (BACKEND_SYSTEMS[name]?.includes(os) ?? true)
  );
  return names.length > 0 ? names.join(",") : backends;
}

/**
 * A recorded adapter's backend for labels, reports and captions: "vulkan", "gl (fallback: the
 * native backends found no adapter)"; null when not recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const phrase = backendPhrase({ backend: "gl", backendSource: "gl-fallback" });
 * assert(phrase === "gl (fallback: the native backends found no adapter)");
 * ```
 */
export function backendPhrase(
  adapter: Pick<AdapterDescription, "backend" | "backendSource">,
): string | null {
  if (adapter.backend === undefined) return null;
  return adapter.backendSource === "gl-fallback"
    ? `${adapter.backend} (fallback: the native backends found no adapter)`
    : adapter.backend;
}
