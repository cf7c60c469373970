/**
 * Errors a user can cause from the command line: one line naming the flag, the value and what is
 * allowed, and exit code 2 — never a stack trace. Faults of the environment after the work has
 * started (a full disk, a folder that cannot be written) are one line too, with exit code 1.
 *
 * @module
 */

/** Exit code for bad input. */
export const EXIT_USAGE = 2;

/** Exit code for a fault after the work has started. */
export const EXIT_FAULT = 1;

/** A mistake on the command line, reported as one line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A fault of the environment met after the work started (no space left, …), as one line. */
export class FaultError extends Error {
  override name = "FaultError";
}

/** `--flag "value": what is allowed` as a UsageError. */
export function badValue(flag: string, value: string, allowed: string): UsageError {
  return new UsageError(`--${flag} ${JSON.stringify(value)}: ${allowed}`);
}

/**
 * Map node:util parseArgs errors (unknown option, missing value, …) to one line. Node's hint for
 * a value that starts with a dash is kept, with the value `args` gave.
 *
 * @example
 * ```ts
 * import { parseArgs } from "node:util";
 * const args = ["--seed", "-1"];
 * try {
 *   parseArgs({ args, options: { seed: { type: "string" } }, strict: true });
 *   throw new Error("accepted");
 * } catch (error) {
 *   const message = fromParseArgsError(error, args).message;
 *   if (!message.includes("use --seed=-1")) throw new Error(message);
 * }
 * ```
 */
export function fromParseArgsError(error: unknown, args: readonly string[] = []): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split("\n");
  const firstLine = lines[0]!.replace(/\. To specify a positional.*$/, "").replace(/\.$/, "");
  const ambiguous = /^Option '(-[^' ]+)[^']*' argument is ambiguous/.exec(firstLine);
  if (ambiguous) {
    const flag = ambiguous[1]!;
    const value = args[args.indexOf(flag) + 1];
    const example = value?.startsWith("-") ? value : "-VALUE";
    return new UsageError(
      `${firstLine}: to give a value that starts with a dash, use ${flag}=${example}`,
    );
  }
  return new UsageError(firstLine);
}

/**
 * Run a command-line entry point and exit with its code: a UsageError prints `error: <message>`
 * and exits 2, a FaultError exits 1 the same way; anything else is a bug and keeps its stack.
 * Every way out goes through Deno.exit, so `unload` listeners (a lock's removal) always run.
 */
export async function runCli(main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    if (error instanceof UsageError || error instanceof FaultError) {
      console.error(`error: ${error.message}`);
      code = error instanceof UsageError ? EXIT_USAGE : EXIT_FAULT;
    } else {
      console.error(error);
      code = EXIT_FAULT;
    }
  }
  Deno.exit(code);
}
