/**
 * Values of command-line flags shared by the tasks: integers in a range and comma-separated name
 * lists. Each mistake is a UsageError naming the flag, the value and what is allowed.
 *
 * @module
 */

import { parseMask } from "../configuration.ts";
import { badValue } from "./usage_error.ts";

/** An integer from `min` to `max`; `why` is appended to the message. */
export function parseInteger(
  flag: string,
  text: string,
  min: number,
  max: number,
  why = "",
): number {
  const allowed = `expected an integer from ${min} to ${max}${why}`;
  if (!/^\d+$/.test(text.trim())) throw badValue(flag, text, allowed);
  const value = Number(text.trim());
  if (value < min || value > max) throw badValue(flag, text, allowed);
  return value;
}

/** A comma-separated subset of `names`, each once, returned in the order of `names`. */
export function parseNameList<T extends string>(
  flag: string,
  text: string,
  names: readonly T[],
): T[] {
  const allowed = `expected a comma-separated subset of ${names.join(",")}`;
  const parts = text.split(",").map((part) => part.trim());
  if (parts.some((part) => !(names as readonly string[]).includes(part))) {
    throw badValue(flag, text, allowed);
  }
  if (new Set(parts).size !== parts.length) throw badValue(flag, text, `${allowed}, each once`);
  // report order, whatever order the user typed
  return names.filter((name) => parts.includes(name));
}

/** A comma-separated list of distinct integers from `min` to `max`, in the order given. */
export function parseIntegerList(flag: string, text: string, min: number, max: number): number[] {
  const allowed = `expected comma-separated integers from ${min} to ${max}, each once`;
  const values = text.split(",").map((part) => {
    if (!/^\d+$/.test(part.trim())) throw badValue(flag, text, allowed);
    return Number(part.trim());
  });
  if (values.some((value) => value < min || value > max) || new Set(values).size < values.length) {
    throw badValue(flag, text, allowed);
  }
  return values;
}

/** A comma-separated list of masks (`full`, `causal`, `sliding:W` with W ≥ 1), each once. */
export function parseMaskList(flag: string, text: string): string[] {
  const allowed = "expected a comma-separated list of full, causal, sliding:W (W a positive " +
    "integer), each once";
  const parts = text.split(",").map((part) => part.trim());
  if (parts.some((part) => parseMask(part) === null) || new Set(parts).size < parts.length) {
    throw badValue(flag, text, allowed);
  }
  return parts;
}
