/**
 * The machine a profile ran on: runtime versions, OS, CPU and (when used) the GPU adapter.
 *
 * @module
 */

import { cpus } from "node:os";
import type { AdapterDescription, EnvironmentDescription } from "./results.ts";

/** The CPU's model name (node:os, which needs --allow-sys), or "unknown CPU". */
export function cpuModelName(): string {
  return cpus()[0]?.model.trim() || "unknown CPU";
}

/**
 * Describe this machine; `adapter` is the GPU the profile used, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const environment = describeEnvironment(null);
 * assert(environment.cpuCores >= 1);
 * ```
 */
export function describeEnvironment(adapter: AdapterDescription | null): EnvironmentDescription {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    arch: Deno.build.arch,
    cpuModel: cpuModelName(),
    cpuCores: navigator.hardwareConcurrency,
    totalMemoryBytes: Deno.systemMemoryInfo().total,
    adapter,
  };
}
