/**
 * Read `profiling_results.json` back for re-plotting. The writer serialises NaN as `null`, so a null
 * number reads as NaN (only `environment.adapter` is null by design). The fields the figures use are
 * checked, and every problem is a {@link ResultsFileError} that names the file and what is wrong.
 *
 * @module
 */

import type { ProfileResults } from "../results.ts";
import { isSeriesName } from "../variants/registry.ts";

/** The file is missing, unreadable, not JSON, or not a schema 1 or 2 results file. */
export class ResultsFileError extends Error {
  override name = "ResultsFileError";

  /** `path` is the file; `problem` says what is wrong with it, without the path. */
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
  }
}

/** Fields that are null by design: everything else null was a NaN number. */
const NULLABLE_KEYS = new Set(["adapter"]);

type Json = unknown;

function _isRecord(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class _Checker {
  constructor(readonly problems: string[]) {}

  record(value: Json, where: string): Record<string, Json> | undefined {
    if (_isRecord(value)) return value;
    this.problems.push(`${where} is not an object`);
    return undefined;
  }

  array(value: Json, where: string): Json[] | undefined {
    if (Array.isArray(value)) return value;
    this.problems.push(`${where} is not an array`);
    return undefined;
  }

  number(value: Json, where: string): void {
    if (typeof value !== "number") this.problems.push(`${where} is not a number`);
  }

  string(value: Json, where: string): void {
    if (typeof value !== "string") this.problems.push(`${where} is not a string`);
  }

  numbers(value: Json, where: string): void {
    const items = this.array(value, where);
    if (items?.some((item) => typeof item !== "number")) {
      this.problems.push(`${where} holds something other than numbers`);
    }
  }

  optionalRecord(value: Json, where: string): Record<string, Json> | undefined {
    return value === undefined ? undefined : this.record(value, where);
  }
}

/** Fields of a version-2 configuration, by type. */
const CONFIGURATION_FIELDS = {
  number: ["batch", "dModel", "heads", "kvHeads", "dK", "window"],
  string: ["mask", "attention", "pass"],
} as const;

/** Check a version-2 file's `configurations`; the ids found. */
function _checkConfigurations(check: _Checker, root: Record<string, Json>): Set<string> {
  const ids = new Set<string>();
  (check.array(root.configurations, "configurations") ?? []).forEach((item, i) => {
    const configuration = check.record(item, `configurations[${i}]`);
    if (!configuration) return;
    if (typeof configuration.id !== "string" || !/^[a-z0-9_]+$/.test(configuration.id)) {
      check.problems.push(`configurations[${i}].id is ${JSON.stringify(configuration.id)}`);
    } else ids.add(configuration.id);
    for (const key of CONFIGURATION_FIELDS.number) {
      check.number(configuration[key], `configurations[${i}].${key}`);
    }
    for (const key of CONFIGURATION_FIELDS.string) {
      check.string(configuration[key], `configurations[${i}].${key}`);
    }
  });
  return ids;
}

/**
 * Check the parts of a parsed results object the figures read; a list of problems (empty when it
 * is usable).
 */
export function resultsProblems(value: Json): string[] {
  const problems: string[] = [];
  const check = new _Checker(problems);
  const root = check.record(value, "the file");
  if (root === undefined) return problems;
  if (root.schemaVersion !== 1 && root.schemaVersion !== 2) {
    return [
      `schemaVersion is ${JSON.stringify(root.schemaVersion) ?? "missing"}, expected 1 or 2`,
    ];
  }
  // version 2 lists its configurations (a file without the list reads as one configuration)
  const configurationIds = root.configurations === undefined
    ? null
    : _checkConfigurations(check, root);
  /** with configurations: every series and work entry names one of them */
  const checkConfigurationId = (value: Json, where: string) => {
    if (configurationIds === null) return;
    if (typeof value !== "string" || !configurationIds.has(value)) {
      problems.push(`${where}.configurationId is ${JSON.stringify(value)}, not a configuration`);
    }
  };
  const config = check.record(root.config, "config");
  if (config) {
    check.numbers(config.seqLens, "config.seqLens");
    for (const key of ["dModel", "heads", "runs", "warmup", "seed"]) {
      check.number(config[key], `config.${key}`);
    }
  }
  const environment = check.record(root.environment, "environment");
  if (environment) {
    for (const key of ["deno", "v8", "os", "arch", "cpuModel"]) {
      check.string(environment[key], `environment.${key}`);
    }
    check.number(environment.cpuCores, "environment.cpuCores");
    if (environment.adapter !== null) {
      const adapter = check.record(environment.adapter, "environment.adapter");
      if (adapter) {
        check.string(adapter.description, "environment.adapter.description");
        if (typeof adapter.isSoftware !== "boolean") {
          problems.push("environment.adapter.isSoftware is not a boolean");
        }
      }
    }
  }
  if (typeof root.flopsConvention !== "string") problems.push("flopsConvention is not a string");
  (check.array(root.flops, "flops") ?? []).forEach((item, i) => {
    const work = check.record(item, `flops[${i}]`);
    if (!work) return;
    check.number(work.seqLen, `flops[${i}].seqLen`);
    check.number(work.totalFlops, `flops[${i}].totalFlops`);
    checkConfigurationId(work.configurationId, `flops[${i}]`);
    const byStage = check.record(work.flopsByStage, `flops[${i}].flopsByStage`);
    if (byStage && Object.values(byStage).some((v) => typeof v !== "number")) {
      problems.push(`flops[${i}].flopsByStage holds something other than numbers`);
    }
  });
  (check.array(root.series, "series") ?? []).forEach((item, i) => {
    const series = check.record(item, `series[${i}]`);
    if (!series) return;
    if (!isSeriesName(series.name)) {
      problems.push(`series[${i}].name is ${JSON.stringify(series.name)}`);
    }
    check.string(series.label, `series[${i}].label`);
    checkConfigurationId(series.configurationId, `series[${i}]`);
    if (series.stageNames !== undefined) {
      const names = check.array(series.stageNames, `series[${i}].stageNames`);
      if (names?.some((name) => typeof name !== "string")) {
        problems.push(`series[${i}].stageNames holds something other than strings`);
      }
    }
    (check.array(series.points, `series[${i}].points`) ?? []).forEach((pointItem, j) => {
      const where = `series[${i}].points[${j}]`;
      const point = check.record(pointItem, where);
      if (!point) return;
      check.number(point.seqLen, `${where}.seqLen`);
      if (!["ok", "skipped", "failed"].includes(point.status as string)) {
        problems.push(`${where}.status is ${JSON.stringify(point.status)}`);
      }
      check.numbers(point.wallMs, `${where}.wallMs`);
      const summary = check.optionalRecord(point.wallMsSummary, `${where}.wallMsSummary`);
      if (summary) {
        check.number(summary.mean, `${where}.wallMsSummary.mean`);
        check.number(summary.sem, `${where}.wallMsSummary.sem`);
      }
      const memory = check.optionalRecord(point.memory, `${where}.memory`);
      if (memory) {
        check.number(memory.peakBytes, `${where}.memory.peakBytes`);
        check.number(memory.theoreticalBytes, `${where}.memory.theoreticalBytes`);
      }
      if (point.kernelMs !== undefined) {
        (check.array(point.kernelMs, `${where}.kernelMs`) ?? []).forEach((row, r) =>
          check.numbers(row, `${where}.kernelMs[${r}]`)
        );
      }
      if (point.kernelMsSummary !== undefined) {
        (check.array(point.kernelMsSummary, `${where}.kernelMsSummary`) ?? []).forEach((s, k) => {
          const stage = check.record(s, `${where}.kernelMsSummary[${k}]`);
          if (stage) check.number(stage.mean, `${where}.kernelMsSummary[${k}].mean`);
        });
      }
    });
  });
  if (!Array.isArray(root.skips)) problems.push("skips is not an array");
  return problems;
}

/** An error's message on one line (JSON.parse quotes the text it choked on, newlines included). */
function _oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, " ").trim();
}

/**
 * Parse the text of a results file (null numbers become NaN) and check it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * try {
 *   parseResults("{}", "x.json");
 * } catch (error) {
 *   assert(error instanceof ResultsFileError);
 * }
 * ```
 */
export function parseResults(text: string, path: string): ProfileResults {
  let value: Json;
  try {
    value = JSON.parse(text, (key, item) => item === null && !NULLABLE_KEYS.has(key) ? NaN : item);
  } catch (error) {
    throw new ResultsFileError(path, `not valid JSON (truncated or corrupt?): ${_oneLine(error)}`);
  }
  const problems = resultsProblems(value);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : "";
    throw new ResultsFileError(path, `not a profiling results file: ${problems[0]}${more}`);
  }
  return value as ProfileResults;
}

/** Read and check a `profiling_results.json`. */
export async function loadResults(path: string): Promise<ProfileResults> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ResultsFileError(path, "no such file");
    if (error instanceof Deno.errors.IsADirectory) {
      throw new ResultsFileError(path, "is a folder, not a profiling_results.json");
    }
    throw new ResultsFileError(path, `cannot be read: ${_oneLine(error)}`);
  }
  return parseResults(text, path);
}
