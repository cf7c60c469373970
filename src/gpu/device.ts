/**
 * Opening the GPU: adapter, device with the adapter's limits and the timestamp-query feature, and a
 * description of the adapter for the results.
 *
 * A device created without `requiredLimits` gets WebGPU's defaults (256 MiB buffers, 128 MiB
 * bindings), whatever the adapter offers, so the limits that matter here are requested at the
 * adapter's values. Without "timestamp-query" the device still opens, and `hasTimestamps` says that
 * per-stage times are not available (the forward is then timed by wall clock alone).
 *
 * @module
 */

import type { AdapterDescription } from "../results.ts";
import { type BackendChoice, backendsOn, chooseWebGpuBackends } from "./backends.ts";
import type { KernelId, KernelParameters } from "./kernels.ts";

/** An open GPU device and what the profile needs to know about it. */
export interface GpuContext {
  /** the WebGPU device */
  device: GPUDevice;
  /** what the adapter says about itself */
  adapter: AdapterDescription;
  /** true when the device has "timestamp-query": per-stage times come from the GPU */
  hasTimestamps: boolean;
  /** resolves with a message if the device is lost (also after `destroy()`: "destroyed: …") */
  lost: Promise<string>;
  /**
   * the most bytes of GPU buffers one forward may hold, used by the preflight. WebGPU has no memory
   * query: on a software adapter (whose buffers live in host memory) it is a share of the available
   * host memory; on a hardware GPU it is unknown (Infinity) and a failed allocation is reported
   * as an out-of-memory error instead
   */
  memoryBudgetBytes?: number;
  /**
   * kernel parameters chosen for this adapter by tuning (src/gpu/tuning.ts), over the built-in
   * tuning; absent: the built-in `software` or `hardware` parameters
   */
  kernelParameters?: Partial<Record<KernelId, KernelParameters>>;
  /** release the device and every buffer */
  destroy(): void;
}

/** Opening the GPU failed for a reason the user can act on. */
export class GpuSetupError extends Error {
  override name = "GpuSetupError";
}

/** Adapter limits requested for the device: buffer sizes, bindings and compute dispatch sizes. */
const REQUESTED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
] as const;

/** Optional features used when the adapter has them. */
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ["timestamp-query", "shader-f16"];

/** Share of available host memory a software adapter's buffers may take. */
const SOFTWARE_MEMORY_SHARE = 0.6;

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|software|microsoft basic render/i;

/**
 * Open the GPU: `null` when there is no adapter (no WebGPU in this runtime, or none found). The
 * backends are the user's DENO_WEBGPU_BACKEND, else the native ones, else (`glFallback`, default
 * true) OpenGL: see src/gpu/backends.ts. A process that opens WebGPU many times (the test suite)
 * passes `glFallback: false`, since Mesa's GL driver has corrupted such processes' heap at exit.
 *
 * @throws {GpuSetupError} when an adapter exists but no device can be created from it
 *
 * @example
 * ```ts
 * const gpu = await openGpu();
 * if (gpu === null) console.log("no GPU adapter");
 * else {
 *   console.log(gpu.adapter.description, gpu.hasTimestamps);
 *   gpu.destroy();
 * }
 * ```
 */
export async function openGpu(
  options: { glFallback?: boolean } = {},
): Promise<GpuContext | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu === undefined) return null;
  const backends = await chooseWebGpuBackends(options);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    throw new GpuSetupError(`requesting a GPU adapter failed: ${_message(error)}`);
  }
  if (adapter === null) return null;

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === "number") requiredLimits[name] = value;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((feature) => adapter.features.has(feature));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: "self-attention profiler",
      requiredLimits,
      requiredFeatures,
    });
  } catch (error) {
    throw new GpuSetupError(
      `creating a device on "${adapter.info.description || "the GPU adapter"}" with its own ` +
        `limits and features [${requiredFeatures.join(", ")}] failed: ${_message(error)}`,
    );
  }

  const description = describeAdapter(adapter, device, backends);
  const lost = device.lost.then((info) => `${info.reason ?? "unknown"}: ${info.message}`);
  let destroyed = false;
  return {
    device,
    adapter: description,
    hasTimestamps: device.features.has("timestamp-query"),
    lost,
    memoryBudgetBytes: description.isSoftware ? _softwareMemoryBudget() : Infinity,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
    },
  };
}

/**
 * The adapter as recorded in the results: names, whether it is software, the WebGPU backends it
 * was requested through and why, features, limits.
 */
export function describeAdapter(
  adapter: GPUAdapter,
  device: GPUDevice,
  backends: BackendChoice,
): AdapterDescription {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name in device.limits) {
    const value = (device.limits as unknown as Record<string, unknown>)[name];
    if (typeof value === "number") limits[name] = value;
  }
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  return {
    description: info.description || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    isSoftware: fallback || SOFTWARE_ADAPTER.test(`${info.description} ${info.vendor}`),
    ...(backends.backends !== undefined
      ? { backend: backendsOn(backends.backends, Deno.build.os) }
      : {}),
    backendSource: backends.source,
    features: [...device.features].sort(),
    limits,
  };
}

function _softwareMemoryBudget(): number {
  try {
    return Math.floor(Deno.systemMemoryInfo().available * SOFTWARE_MEMORY_SHARE);
  } catch {
    return Infinity; // no --allow-sys: the preflight then checks the adapter limits alone
  }
}

function _message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
