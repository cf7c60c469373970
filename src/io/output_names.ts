/**
 * The names of the files this tool writes into an output folder: the registry a run consults to
 * remove what an earlier run left there (and nothing else) and to refuse a folder that holds
 * something else under one of these names.
 *
 * @module
 */

import { FIGURE_FILE_NAMES } from "../plot/figures.ts";
import { TEMPORARY_NAME } from "./atomic.ts";
import { DATA_FILES } from "./results_files.ts";

/** Exact names: the data files, the figures, the trace and the reports. */
const EXACT_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(DATA_FILES),
  ...Object.values(FIGURE_FILE_NAMES),
  "trace.json",
  "report.md",
  "report.html",
]);

/** Named by length: `tensors_n<N>.npz` and `tensors_<series>_n<N>.npz` (`--dump-tensors`). */
const TENSORS_NAME = /^tensors_(?:.+_)?n\d+\.npz$/;

/** The write probe of src/cli/out_dir.ts: `.write_probe_<pid>_<8 hex digits>`. */
const WRITE_PROBE_NAME = /^\.write_probe_\d+_[0-9a-f]{8}$/;

/**
 * Whether `name` is one of this tool's output files.
 *
 * @example
 * ```ts
 * if (!isOutputName("tensors_n100.npz") || isOutputName("notes.txt")) throw new Error();
 * ```
 */
export function isOutputName(name: string): boolean {
  return EXACT_NAMES.has(name) || TENSORS_NAME.test(name);
}

/**
 * Whether `name` is a temporary file this tool writes on the way to an output file (an atomic
 * write's, or the write probe's): in a folder no run of ours writes into, it is a leftover.
 *
 * @example
 * ```ts
 * if (!isOutputTemporary("profiling_results.json.123.0a1b2c3d.tmp")) throw new Error();
 * if (isOutputTemporary("notes.txt.123.0a1b2c3d.tmp")) throw new Error();
 * ```
 */
export function isOutputTemporary(name: string): boolean {
  const target = TEMPORARY_NAME.exec(name)?.[1];
  return (target !== undefined && isOutputName(target)) || WRITE_PROBE_NAME.test(name);
}
