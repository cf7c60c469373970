/**
 * The machine a profile ran on: runtime versions, OS, CPU and (when used) the GPU adapter.
 *
 * @module
 */

import type { AdapterDescription, EnvironmentDescription } from "./results.ts";

/** The CPU's model name from /proc/cpuinfo (Linux), or "unknown CPU" elsewhere. */
export function cpuModelName(): string {
  try {
    const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/**
 * Describe this machine; `adapter` is the GPU the profile used, or null.
 *
 * @example
 * ```ts
 * const environment = describeEnvironment(null);
 * console.assert(environment.cpuCores >= 1);
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
