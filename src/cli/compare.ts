/**
 * `deno task compare BASE NEW`: compare two profiles (their `profiling_results.json`, folders
 * holding one, or folders of repeated profiles' folders, pooled) point by point — ratio of
 * medians NEW/BASE with a seeded bootstrap interval and a verdict per (series, configuration, n) —
 * on the console or as Markdown.
 *
 * Exit codes: 0 done; 1 `--fail-on-slower PCT` and some point is slower by more than PCT; 2 bad
 * input (a flag, or a file that is missing or not a results file: one line).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { compareResults, type Comparison, describeKey, slowerThan } from "../compare/compare.ts";
import { type BootstrapOptions, DEFAULT_BOOTSTRAP } from "../compare/bootstrap.ts";
import { comparisonBlocks } from "../compare/format.ts";
import { loadResults, ResultsFileError } from "../plot/load_results.ts";
import { renderMarkdown, renderText } from "../report/document.ts";
import type { ProfileResults } from "../results.ts";
import { parseInteger } from "./flag_values.ts";
import { RESULTS_FILE_NAME, resultsPathsOf } from "../io/results_path.ts";
import { STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, fromParseArgsError, runCli, UsageError } from "./usage_error.ts";

/** The help text of `deno task compare --help`. */
export const COMPARE_HELP = `Compare two profiles point by point.

Usage: deno task compare BASE NEW [flags]

  BASE, NEW              a ${RESULTS_FILE_NAME}, a folder holding one, or a folder of such
                         folders (repeated profiles of one setup: pooled)
  --threshold PCT        changes under PCT % are within noise            (default 5)
  --fail-on-slower PCT   exit 1 when a point is slower by more than PCT %
  --markdown             print the table as GitHub-flavoured Markdown
  --seed N               seeds the bootstrap                             (default ${DEFAULT_BOOTSTRAP.seed})
  --resamples N          bootstrap resamples                             (default ${DEFAULT_BOOTSTRAP.resamples})
  -h, --help             this text
  --version              the version of this tool and of Deno

For every (series, configuration, n) timed in both: the ratio of medians NEW/BASE of the wall
clock (and of the GPU stage-time sum), a 95 % bootstrap interval, and a verdict: faster, slower
or within noise (the interval holds 1, or the change is under the threshold).
Exit codes: 0 done, 1 slower than --fail-on-slower, 2 bad input.`;

const ALLOWED_FLAGS =
  "BASE NEW, --threshold PCT, --fail-on-slower PCT, --markdown, --seed N, --resamples N, --help, " +
  "--version";

/** What the flags ask for: a text to print (the help or the version), or a comparison. */
export type ParsedCompareArgs = { help: true; text: string } | {
  help: false;
  base: string;
  next: string;
  /** fraction (0.05 for 5 %) */
  threshold: number;
  /** fraction, or null when not asked */
  failOnSlower: number | null;
  markdown: boolean;
  bootstrap: BootstrapOptions;
};

/** A percentage from 0 to 1000 (`5` or `5%`) as a fraction. */
function parsePercent(flag: string, text: string): number {
  const value = Number(text.trim().replace(/\s*%$/, ""));
  if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1000) {
    throw badValue(flag, text, "expected a percentage from 0 to 1000, e.g. 5");
  }
  return value / 100;
}

/**
 * Parse the arguments of `deno task compare` (strict: unknown flags are errors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const parsed = parseCompareArgs(["a.json", "b.json", "--threshold", "10"]);
 * assert(!parsed.help && parsed.threshold === 0.1);
 * ```
 */
export function parseCompareArgs(args: string[]): ParsedCompareArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        threshold: { type: "string" },
        "fail-on-slower": { type: "string" },
        markdown: { type: "boolean" },
        seed: { type: "string" },
        resamples: { type: "string" },
        ...STANDARD_FLAGS,
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(`${fromParseArgsError(error, args).message}; allowed: ${ALLOWED_FLAGS}`);
  }
  const { values, positionals } = parsed;
  const answer = standardAnswer(values, COMPARE_HELP);
  if (answer !== null) return { help: true, text: answer };
  if (positionals.length !== 2 || positionals.some((path) => path.trim() === "")) {
    throw new UsageError(
      `expected two results files, BASE and NEW, got ${positionals.length}` +
        (positionals.length > 0 ? ` (${positionals.map((p) => JSON.stringify(p)).join(" ")})` : ""),
    );
  }
  return {
    help: false,
    base: positionals[0]!,
    next: positionals[1]!,
    threshold: values.threshold === undefined ? 0.05 : parsePercent("threshold", values.threshold),
    failOnSlower: values["fail-on-slower"] === undefined
      ? null
      : parsePercent("fail-on-slower", values["fail-on-slower"]),
    markdown: values.markdown ?? false,
    bootstrap: {
      ...DEFAULT_BOOTSTRAP,
      seed: values.seed === undefined
        ? DEFAULT_BOOTSTRAP.seed
        : parseInteger("seed", values.seed, 0, 2 ** 32 - 1),
      resamples: values.resamples === undefined
        ? DEFAULT_BOOTSTRAP.resamples
        : parseInteger("resamples", values.resamples, 100, 1_000_000),
    },
  };
}

/** Load one side (one profile, or repeated ones); a bad file is one line naming it (exit 2). */
async function loadSide(which: "BASE" | "NEW", given: string): Promise<ProfileResults[]> {
  const paths = await resultsPathsOf(given);
  const profiles: ProfileResults[] = [];
  for (const path of paths) {
    try {
      profiles.push(await loadResults(path));
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      const file = paths.length === 1 ? "" : ` (${path})`;
      throw new UsageError(`${which} ${JSON.stringify(given)}${file}: ${error.problem}`);
    }
  }
  return profiles;
}

/** The exit code `--fail-on-slower` asks for, with the offending points on stderr. */
function failOnSlowerCode(comparison: Comparison, fraction: number | null): number {
  if (fraction === null) return 0;
  const slower = slowerThan(comparison, fraction);
  if (slower.length === 0) return 0;
  console.error(
    `slower by more than ${(100 * fraction).toFixed(1)} %: ` +
      slower.map((p) => `${describeKey(p)} ${p.metricLabel} ×${p.ratio.toFixed(3)}`).join(", "),
  );
  return 1;
}

/** Run `deno task compare` with `args`; returns the exit code (usage errors throw). */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCompareArgs(args);
  if (parsed.help) {
    console.log(parsed.text);
    return 0;
  }
  const base = await loadSide("BASE", parsed.base);
  const next = await loadSide("NEW", parsed.next);
  const comparison = compareResults(base, next, parsed);
  const blocks = comparisonBlocks(comparison, { base: parsed.base, next: parsed.next });
  console.log((parsed.markdown ? renderMarkdown(blocks) : renderText(blocks)).trimEnd());
  return failOnSlowerCode(comparison, parsed.failOnSlower);
}

if (import.meta.main) await runCli(() => main(Deno.args));
