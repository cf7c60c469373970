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

/**
 * The results files of one side of a comparison: `from` itself; the results file inside a
 * folder; or, for a folder without one, the results file of each of its subfolders that holds one
 * (repeated profiles of one setup, e.g. `base/1`, `base/2`), in name order. A folder with neither
 * gives its own (missing) results file path, for the loader to report.
 */
export async function resultsPathsOf(from: string): Promise<string[]> {
  const own = await resultsPathOf(from);
  if (own === from || await isFile(own)) return [own];
  const folders: string[] = [];
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory && await isFile(join(from, entry.name, RESULTS_FILE_NAME))) {
      folders.push(entry.name);
    }
  }
  folders.sort();
  return folders.length === 0 ? [own] : folders.map((name) => join(from, name, RESULTS_FILE_NAME));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
