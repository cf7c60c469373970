/**
 * `deno task plot --from DIR/profiling_results.json [--out DIR]`: re-render the figures and the
 * reports (report.md, report.html, and trace.json when the file has the stages' begin times) from
 * a results file without re-running the profile. Bad input — an unknown flag, a missing, truncated
 * or foreign file, an output path that is not a folder — is one line on stderr and exit code 2,
 * with nothing written.
 *
 * @module
 */

import { dirname } from "node:path";
import { RESULTS_FILE_NAME, resultsPathOf } from "../io/results_path.ts";
import { writeFigures } from "../plot/figures.ts";
import { writeReportFiles } from "../io/results_files.ts";
import { loadResults, ResultsFileError } from "../plot/load_results.ts";
import type { ProfileResults } from "../results.ts";
import { checkOutDir } from "./out_dir.ts";
import { parseFlags, STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, runCli, UsageError } from "./usage_error.ts";

export { RESULTS_FILE_NAME };

/** The help text of `deno task plot --help`. */
export const PLOT_HELP = `Re-render the figures and reports of a profile from its results file.

Usage: deno task plot --from DIR/${RESULTS_FILE_NAME} [--out DIR]

  --from FILE   the ${RESULTS_FILE_NAME} a profile wrote (a folder holding one also works)
  --out DIR     where to write the figures                (default: the folder of --from)
  -h, --help    this text
  --version     the version of this tool and of Deno

Writes self_attention_profiling.png/.svg, kernel_breakdown.png/.svg, report.md, report.html
and, when the results hold the GPU stages' begin times (kernelStartMs), trace.json.
Exit codes: 0 done, 2 bad input (nothing written).`;

const ALLOWED_FLAGS = "--from FILE, --out DIR, --help, --version";

/** What the flags ask for: a text to print (the help or the version), or the figures of a file. */
export type ParsedPlotArgs = { help: true; text: string } | {
  help: false;
  from: string;
  outDir?: string;
};

/**
 * Parse the flags of `deno task plot` (strict: unknown flags and positionals are errors).
 *
 * @example
 * ```ts
 * const parsed = parsePlotArgs(["--from", "results/profiling_results.json"]);
 * if (parsed.help || parsed.from !== "results/profiling_results.json") throw new Error();
 * ```
 */
export function parsePlotArgs(args: string[]): ParsedPlotArgs {
  let values;
  try {
    values = parseFlags(args, {
      from: { type: "string" },
      out: { type: "string" },
      ...STANDARD_FLAGS,
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${error.message}; allowed: ${ALLOWED_FLAGS}`);
  }
  const answer = standardAnswer(values, PLOT_HELP);
  if (answer !== null) return { help: true, text: answer };
  if (values.from === undefined) {
    throw new UsageError(`--from is required: the path of a ${RESULTS_FILE_NAME}`);
  }
  if (values.from.trim() === "") {
    throw badValue("from", values.from, `expected the path of a ${RESULTS_FILE_NAME}`);
  }
  if (values.out !== undefined && values.out.trim() === "") {
    throw badValue("out", values.out, "expected a folder path");
  }
  return { help: false, from: values.from, outDir: values.out };
}

/** Run `deno task plot` with `args`; returns the exit code (usage errors throw). */
export async function main(args: string[]): Promise<number> {
  const parsed = parsePlotArgs(args);
  if (parsed.help) {
    console.log(parsed.text);
    return 0;
  }
  const path = await resultsPathOf(parsed.from);
  let results: ProfileResults;
  try {
    results = await loadResults(path);
  } catch (error) {
    if (!(error instanceof ResultsFileError)) throw error;
    const shown = path === parsed.from ? "" : ` (${path})`;
    throw badValue(
      "from",
      parsed.from,
      `${error.problem}${shown}; expected a ${RESULTS_FILE_NAME} (schemaVersion 1 or 2) from \`deno task profile\``,
    );
  }
  const outDir = parsed.outDir ?? dirname(path);
  await checkOutDir(outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const paths = [
    ...await writeFigures(results, outDir),
    ...await writeReportFiles(results, outDir),
  ];
  for (const written of paths) console.log(`wrote ${written}`);
  return 0;
}

if (import.meta.main) await runCli(() => main(Deno.args));
