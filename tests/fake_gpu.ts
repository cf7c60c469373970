/**
 * A stand-in GpuContext for tests that need no adapter: the device is only limits, features and a
 * queue whose submissions finish at once, so preflights and the profile's bookkeeping can be tested
 * anywhere.
 */
import type { GpuContext } from "../src/gpu/device.ts";

/** Limits like lavapipe's, for the preflight. */
const LIMITS: Partial<GPUSupportedLimits> = {
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxBufferSize: 2 ** 31 - 1,
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupStorageSize: 16384,
  minUniformBufferOffsetAlignment: 256,
};

/** Options of {@link fakeGpuContext}: what differs from a lavapipe-like device. */
export interface FakeGpuOptions {
  limits?: Partial<GPUSupportedLimits>;
  features?: string[];
  memoryBudgetBytes?: number;
  /** resolves with a message when the device is "lost" (default: never) */
  lost?: Promise<string>;
}

/** A GpuContext that allocates nothing. */
export function fakeGpuContext(options: FakeGpuOptions = {}): GpuContext {
  const features = options.features ?? ["timestamp-query"];
  const device = {
    features: new Set(features),
    limits: { ...LIMITS, ...options.limits },
    queue: { submit() {}, onSubmittedWorkDone: () => Promise.resolve() },
  } as unknown as GPUDevice;
  return {
    device,
    adapter: {
      description: "stand-in adapter",
      vendor: "",
      architecture: "",
      device: "",
      isSoftware: true,
      features,
      limits: {},
    },
    hasTimestamps: features.includes("timestamp-query"),
    lost: options.lost ?? new Promise(() => {}),
    memoryBudgetBytes: options.memoryBudgetBytes ?? Infinity,
    destroy() {},
  };
}
