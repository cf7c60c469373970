/**
 * What differs between two profiles besides their timings — the configuration, the machine, the
 * adapter, the runtime, the kernel tuning — in words, so that a comparison never silently pits
 * different setups against each other.
 *
 * @module
 */

import type { EnvironmentDescription, ProfileResults } from "../results.ts";

/**
 * Config fields that decide which points exist (the point lists show those) or only where and how
 * output goes: not differences of the measurement.
 */
const IGNORED_CONFIG_KEYS = new Set([
  "seqLens",
  "devices",
  "devicesExplicit",
  "variants",
  "precisions",
  "outDir",
  "quiet",
  "dumpTensors",
  "dumpMax",
]);

/** The environment fields compared, with their names in the list. */
const ENVIRONMENT_FIELDS: readonly { label: string; of(env: EnvironmentDescription): unknown }[] = [
  { label: "Deno version", of: (env) => env.deno },
  { label: "V8 version", of: (env) => env.v8 },
  { label: "OS", of: (env) => `${env.os} ${env.arch}` },
  { label: "CPU", of: (env) => `${env.cpuModel}, ${env.cpuCores} cores` },
  {
    label: "GPU adapter",
    of: (env) =>
      env.adapter === null ? "none" : [
        env.adapter.description || env.adapter.device || "unnamed adapter",
        env.adapter.isSoftware ? "software" : "hardware",
        env.adapter.backend ? `backend ${env.adapter.backend}` : "",
      ].filter((part) => part !== "").join(", "),
  },
];

/** JSON with object keys sorted: equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item) =>
      item !== null && typeof item === "object" && !Array.isArray(item)
        ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
        : item,
  );
}

function shown(value: unknown): string {
  return value === undefined ? "absent" : canonicalJson(value);
}

/** `what: BASE → NEW` for every key of two records whose values differ. */
function recordDifferences(
  what: string,
  base: Record<string, unknown>,
  next: Record<string, unknown>,
  ignored: ReadonlySet<string> = new Set(),
): string[] {
  const keys = [...new Set([...Object.keys(base), ...Object.keys(next)])].filter((key) =>
    !ignored.has(key)
  );
  return keys.filter((key) => canonicalJson(base[key]) !== canonicalJson(next[key])).map((key) =>
    `${what}${key}: ${shown(base[key])} → ${shown(next[key])}`
  );
}

/** The configurations list of a schemaVersion 2 file by id (empty for version 1). */
function configurationsById(results: ProfileResults): Record<string, unknown> {
  return Object.fromEntries((results.configurations ?? []).map((item) => [item.id, item]));
}

/**
 * Every difference between BASE and NEW that is not a timing, one line each (empty when they
 * ran the same setup).
 */
export function describeDifferences(base: ProfileResults, next: ProfileResults): string[] {
  const lines: string[] = [];
  if (base.schemaVersion !== next.schemaVersion) {
    lines.push(`schemaVersion: ${base.schemaVersion} → ${next.schemaVersion}`);
  }
  lines.push(
    ...recordDifferences(
      "config.",
      base.config as unknown as Record<string, unknown>,
      next.config as unknown as Record<string, unknown>,
      IGNORED_CONFIG_KEYS,
    ),
    ...recordDifferences("configuration ", configurationsById(base), configurationsById(next)),
  );
  for (const field of ENVIRONMENT_FIELDS) {
    const [a, b] = [field.of(base.environment), field.of(next.environment)];
    if (canonicalJson(a) !== canonicalJson(b)) lines.push(`${field.label}: ${a} → ${b}`);
  }
  lines.push(
    ...recordDifferences(
      "tuning of ",
      base.tunedKernelParameters ?? {},
      next.tunedKernelParameters ?? {},
    ),
  );
  if (base.interrupted || next.interrupted) {
    const which = [base.interrupted && "BASE", next.interrupted && "NEW"].filter(Boolean);
    lines.push(`interrupted: ${which.join(" and ")} stopped early`);
  }
  return lines;
}
