/**
 * Read `profiling_results.json` back for re-plotting. The writer serialises NaN as `null`, so a null
 * number reads as NaN (only `environment.adapter` is null by design). The fields the figures use are
 * checked, and every problem is a {@link ResultsFileError} that names the file and what is wrong.
 *
 * @module
 */

import type { ProfileResults } from "../results.ts";
import { JsonChecker } from "../io/json_checks.ts";
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

/**
 * The largest results file read, bytes: a seed profile's is ~100 KiB, a grid of many
 * configurations a few MiB; anything this large is not a results file, and is refused before it is
 * read (JSON.parse needs several times its size in memory).
 */
export const MAX_RESULTS_FILE_BYTES = 64 * 2 ** 20;

type Json = unknown;

/** The environment's fields the figures read. */
function _checkEnvironment(check: JsonChecker, value: Json): void {
  const environment = check.record(value, "environment");
  if (!environment) return;
  for (const key of ["deno", "v8", "os", "arch", "cpuModel"]) {
    check.string(environment[key], `environment.${key}`);
  }
  check.number(environment.cpuCores, "environment.cpuCores");
  check.optionalNumber(environment.totalMemoryBytes, "environment.totalMemoryBytes");
  if (environment.adapter === null) return;
  const adapter = check.record(environment.adapter, "environment.adapter");
  if (!adapter) return;
  for (const key of ["description", "vendor", "architecture", "device"]) {
    check.string(adapter[key], `environment.adapter.${key}`);
  }
  check.boolean(adapter.isSoftware, "environment.adapter.isSoftware");
  check.optionalString(adapter.backend, "environment.adapter.backend");
  check.optionalString(adapter.backendSource, "environment.adapter.backendSource");
}

/** A point's fields the figures, the report and the trace read. */
function _checkPoint(check: JsonChecker, value: Json, where: string): void {
  const point = check.record(value, where);
  if (!point) return;
  check.number(point.seqLen, `${where}.seqLen`);
  check.oneOf(point.status, ["ok", "skipped", "failed"], `${where}.status`);
  check.optionalString(point.reason, `${where}.reason`);
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
    check.array(point.kernelMs, `${where}.kernelMs`)?.forEach((row, r) =>
      check.numbers(row, `${where}.kernelMs[${r}]`)
    );
  }
  // what the trace and the report read besides: durations, never NaN
  if (point.kernelStartMs !== undefined) {
    check.array(point.kernelStartMs, `${where}.kernelStartMs`)?.forEach((row, r) =>
      check.durations(row, `${where}.kernelStartMs[${r}]`)
    );
  }
  for (const name of ["kernelSumMs", "submitOverheadMs", "forwardWallMs", "runStartMs"] as const) {
    if (point[name] !== undefined) check.durations(point[name], `${where}.${name}`);
  }
  const timeFields = [
    "uploadMs",
    "readbackMs",
    "uploadStartMs",
    "submitOverheadStartMs",
    "readbackStartMs",
  ] as const;
  for (const name of timeFields) {
    if (point[name] !== undefined) check.duration(point[name], `${where}.${name}`);
  }
  if (point.kernelMsSummary !== undefined) {
    check.array(point.kernelMsSummary, `${where}.kernelMsSummary`)?.forEach((item, k) => {
      const stage = check.record(item, `${where}.kernelMsSummary[${k}]`);
      if (stage) check.number(stage.mean, `${where}.kernelMsSummary[${k}].mean`);
    });
  }
  if (point.kernelTiming !== undefined) {
    check.oneOf(point.kernelTiming, ["timestamp-query", "none"], `${where}.kernelTiming`);
  }
}

/** A series' fields the figures read. */
function _checkSeries(check: JsonChecker, value: Json, where: string): void {
  const series = check.record(value, where);
  if (!series) return;
  if (!isSeriesName(series.name)) {
    check.problems.push(`${where}.name is ${JSON.stringify(series.name)}, not a series name`);
  }
  check.string(series.label, `${where}.label`);
  check.oneOf(series.device, ["cpu", "gpu"], `${where}.device`);
  check.optionalString(series.variant, `${where}.variant`);
  check.optionalString(series.precision, `${where}.precision`);
  check.optionalString(series.configurationId, `${where}.configurationId`);
  if (series.stageNames !== undefined) check.strings(series.stageNames, `${where}.stageNames`);
  const scaling = check.optionalRecord(series.scaling, `${where}.scaling`);
  if (scaling) {
    check.number(scaling.exponent, `${where}.scaling.exponent`);
    const ci95 = check.numbers(scaling.ci95, `${where}.scaling.ci95`);
    if (ci95 && ci95.length !== 2) {
      check.problems.push(`${where}.scaling.ci95 holds ${ci95.length} numbers, not 2`);
    }
    check.numbers(scaling.seqLens, `${where}.scaling.seqLens`);
  }
  check.array(series.points, `${where}.points`)?.forEach((point, j) =>
    _checkPoint(check, point, `${where}.points[${j}]`)
  );
}

/** The calibration's fields the figures read (the ceilings drawn in the time-vs-FLOPs panel). */
function _checkCalibration(check: JsonChecker, value: Json): void {
  const calibration = check.optionalRecord(value, "calibration");
  if (!calibration) return;
  for (const device of ["gpu", "cpu"]) {
    const ceilings = check.record(calibration[device], `calibration.${device}`);
    if (ceilings) check.number(ceilings.matmulGflops, `calibration.${device}.matmulGflops`);
  }
}

/** Fields of a version-2 configuration, by type. */
const CONFIGURATION_FIELDS = {
  number: ["batch", "dModel", "heads", "kvHeads", "dK", "window"],
  string: ["id", "mask", "attention", "pass"],
} as const;

/**
 * A version-2 file's `configurations` (a file without the list reads as one configuration): each
 * one's fields, and that every series and work entry names one of them.
 */
function _checkConfigurations(check: JsonChecker, root: Record<string, Json>): void {
  if (root.configurations === undefined) return;
  const ids = new Set<Json>();
  check.array(root.configurations, "configurations")?.forEach((item, i) => {
    const configuration = check.record(item, `configurations[${i}]`);
    if (!configuration) return;
    for (const key of CONFIGURATION_FIELDS.number) {
      check.number(configuration[key], `configurations[${i}].${key}`);
    }
    for (const key of CONFIGURATION_FIELDS.string) {
      check.string(configuration[key], `configurations[${i}].${key}`);
    }
    ids.add(configuration.id);
  });
  for (const list of ["series", "flops"] as const) {
    if (!Array.isArray(root[list])) continue;
    (root[list] as Json[]).forEach((item, i) => {
      const id = (item as Record<string, Json> | null)?.configurationId;
      if (id !== undefined && !ids.has(id)) {
        check.problems.push(
          `${list}[${i}].configurationId is ${JSON.stringify(id)}, not a configuration`,
        );
      }
    });
  }
}

/**
 * Check every field of a parsed results object that the figures read; a list of problems, each
 * naming the field and its value (empty when it is usable).
 */
export function resultsProblems(value: Json): string[] {
  const check = new JsonChecker();
  const root = check.record(value, "the file");
  if (root === undefined) return check.problems;
  if (root.schemaVersion !== 1 && root.schemaVersion !== 2) {
    return [`schemaVersion is ${JSON.stringify(root.schemaVersion) ?? "missing"}, expected 1 or 2`];
  }
  const config = check.record(root.config, "config");
  if (config) {
    check.numbers(config.seqLens, "config.seqLens");
    for (const key of ["dModel", "heads", "runs", "warmup", "seed"]) {
      check.number(config[key], `config.${key}`);
    }
    check.strings(config.devices, "config.devices");
  }
  _checkConfigurations(check, root);
  _checkEnvironment(check, root.environment);
  check.string(root.flopsConvention, "flopsConvention");
  check.array(root.flops, "flops")?.forEach((item, i) => {
    const work = check.record(item, `flops[${i}]`);
    if (!work) return;
    check.number(work.seqLen, `flops[${i}].seqLen`);
    check.number(work.totalFlops, `flops[${i}].totalFlops`);
    check.optionalString(work.configurationId, `flops[${i}].configurationId`);
    const byStage = check.record(work.flopsByStage, `flops[${i}].flopsByStage`);
    for (const [stage, flops] of Object.entries(byStage ?? {})) {
      check.number(flops, `flops[${i}].flopsByStage.${stage}`);
    }
  });
  check.array(root.series, "series")?.forEach((item, i) =>
    _checkSeries(check, item, `series[${i}]`)
  );
  check.array(root.skips, "skips")?.forEach((item, i) => {
    const skip = check.record(item, `skips[${i}]`);
    if (!skip) return;
    check.string(skip.series, `skips[${i}].series`);
    check.optionalNumber(skip.seqLen, `skips[${i}].seqLen`);
    check.string(skip.reason, `skips[${i}].reason`);
  });
  _checkCalibration(check, root.calibration);
  check.boolean(root.interrupted, "interrupted");
  return check.problems;
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

/**
 * The text of a file of at most `maxBytes`: its size is checked before it is read (a device such
 * as /dev/zero, or a FIFO, is refused: not a regular file), and the read stops past the limit in
 * case the file grew meanwhile.
 */
async function _readBoundedText(path: string, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ResultsFileError(
      path,
      `is larger than the ${maxBytes / 2 ** 20} MiB a results file may be`,
    );
  const info = await Deno.stat(path);
  if (info.isDirectory) {
    throw new ResultsFileError(path, "is a folder, not a profiling_results.json");
  }
  if (!info.isFile) throw new ResultsFileError(path, "is not a regular file");
  if (info.size > maxBytes) throw tooLarge();
  using file = await Deno.open(path);
  const bytes = new Uint8Array(maxBytes + 1);
  let length = 0;
  while (length < bytes.length) {
    const read = await file.read(bytes.subarray(length));
    if (read === null) break;
    length += read;
  }
  if (length > maxBytes) throw tooLarge();
  return new TextDecoder().decode(bytes.subarray(0, length));
}

/** Read and check a `profiling_results.json` (refused unread over {@link MAX_RESULTS_FILE_BYTES}). */
export async function loadResults(path: string): Promise<ProfileResults> {
  let text: string;
  try {
    text = await _readBoundedText(path, MAX_RESULTS_FILE_BYTES);
  } catch (error) {
    if (error instanceof ResultsFileError) throw error;
    if (error instanceof Deno.errors.NotFound) throw new ResultsFileError(path, "no such file");
    throw new ResultsFileError(path, `cannot be read: ${_oneLine(error)}`);
  }
  return parseResults(text, path);
}
