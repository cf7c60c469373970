/**
 * The flags every command answers, `--help`/`-h` and `--version`, and the strict parse all of
 * them share: unknown flags and positionals are one-line UsageErrors (Node's hints kept). A new
 * command spreads {@link STANDARD_FLAGS} into its options and asks {@link standardAnswer} first.
 *
 * @example
 * ```ts
 * const HELP = "Usage: deno task example [--name NAME]";
 * const values = parseFlags(["--version"], { name: { type: "string" }, ...STANDARD_FLAGS });
 * const answer = standardAnswer(values, HELP);
 * if (answer === null || !answer.startsWith("self-attention-profiler ")) throw new Error(answer!);
 * ```
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import denoConfig from "../../deno.json" with { type: "json" };
import { fromParseArgsError } from "./usage_error.ts";

/** The version of this tool (deno.json's `version`). */
export const TOOL_VERSION: string = denoConfig.version;

/** `--help`/`-h` and `--version`, for a command's parseArgs options. */
export const STANDARD_FLAGS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** The text of `--version`: the tool's version and the runtime's. */
export function versionText(): string {
  return `self-attention-profiler ${TOOL_VERSION} (Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ` +
    `TypeScript ${Deno.version.typescript})`;
}

/** Parse `args` strictly (no positionals); a mistake is a UsageError of one line. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw fromParseArgsError(error, args);
  }
}

/** The help or the version text when the flags ask for one (help first), else null. */
export function standardAnswer(
  values: { help?: boolean; version?: boolean },
  helpText: string,
): string | null {
  if (values.help) return helpText;
  if (values.version) return versionText();
  return null;
}
