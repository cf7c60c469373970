/**
 * Errors a user can cause from the command line: one line naming the flag, the value and what is
 * allowed, and exit code 2 — never a stack trace.
 *
 * @module
 */

/** Exit code for bad input. */
export const EXIT_USAGE = 2;

/** A mistake on the command line, reported as one line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `--flag "value": what is allowed` as a UsageError. */
export function badValue(flag: string, value: string, allowed: string): UsageError {
  return new UsageError(`--${flag} ${JSON.stringify(value)}: ${allowed}`);
}

/** Map node:util parseArgs errors (unknown option, missing value, …) to one line. */
export function fromParseArgsError(error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split("\n")[0]!.replace(/\. To specify a positional.*$/, "");
  return new UsageError(firstLine);
}

/**
 * Run a command-line entry point: a UsageError prints `error: <message>` and exits 2; anything
 * else is a bug or an environment fault and keeps its stack.
 */
export async function runCli(main: () => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}`);
      Deno.exit(EXIT_USAGE);
    }
    throw error;
  }
}
