/**
 * Where a profile's results file is: the name `deno task profile` writes, and a folder given
 * instead of a file meaning the file inside it.
 *
 * @module
 */

import { join } from "node:path";

/** The results file name `deno task profile` writes. */
export const RESULTS_FILE_NAME = "profiling_results.json";

/** `from` itself, or the results file inside it when it is a folder. */
export async function resultsPathOf(from: string): Promise<string> {
  try {
    if ((await Deno.stat(from)).isDirectory) return join(from, RESULTS_FILE_NAME);
  } catch {
    // missing: the loader says so
  }
  return from;
}
