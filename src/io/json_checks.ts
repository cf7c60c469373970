/**
 * Field-by-field checks of parsed JSON that came from a file (a results file, a cache): each
 * problem is one phrase that names the field and its value, e.g.
 * `series[0].scaling.exponent is "2", not a number`. Nothing here throws; the caller decides.
 *
 * @module
 */

/** A parsed JSON object. */
export type JsonRecord = Record<string, unknown>;

/** Whether a parsed value is an object (not null, not an array). */
export function isJsonRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value as the message shows it: JSON, shortened. */
function _show(value: unknown): string {
  const text = value === undefined ? "missing" : JSON.stringify(value) ?? String(value);
  return text.length <= 40 ? text : `${text.slice(0, 39)}…`;
}

/**
 * Collects the problems of one parsed file. Every method returns the value when it passes (typed)
 * and `undefined` after recording a problem, so a caller checks what lies below only when the
 * level above is sound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const check = new JsonChecker();
 * const root = check.record(JSON.parse('{"n": "2"}'), "the file");
 * if (root) check.number(root.n, "n");
 * assert(check.problems[0] === 'n is "2", not a number');
 * ```
 */
export class JsonChecker {
  /** one phrase per problem, in the order found */
  readonly problems: string[] = [];

  #fail(where: string, value: unknown, expected: string): undefined {
    this.problems.push(`${where} is ${_show(value)}, not ${expected}`);
    return undefined;
  }

  /** An object (not null, not an array). */
  record(value: unknown, where: string): JsonRecord | undefined {
    return isJsonRecord(value) ? value : this.#fail(where, value, "an object");
  }

  /** An object, or absent. */
  optionalRecord(value: unknown, where: string): JsonRecord | undefined {
    return value === undefined ? undefined : this.record(value, where);
  }

  /** An array. */
  array(value: unknown, where: string): unknown[] | undefined {
    return Array.isArray(value) ? value : this.#fail(where, value, "an array");
  }

  /** A number (NaN included: results files write NaN as null, read back as NaN). */
  number(value: unknown, where: string): number | undefined {
    return typeof value === "number" ? value : this.#fail(where, value, "a number");
  }

  /** A number, or absent. */
  optionalNumber(value: unknown, where: string): number | undefined {
    return value === undefined ? undefined : this.number(value, where);
  }

  /** A number above 0 and at most `max` (a measured rate: 0, negative or absurd is corrupt). */
  positiveNumber(value: unknown, where: string, max: number): number | undefined {
    return typeof value === "number" && value > 0 && value <= max
      ? value
      : this.#fail(where, value, `a positive number up to ${max}`);
  }

  /** A duration in ms: a finite number ≥ 0 (null, read back as NaN, is none). */
  duration(value: unknown, where: string): number | undefined {
    return typeof value === "number" && Number.isFinite(value) && value >= 0
      ? value
      : this.#fail(where, value, "a duration in ms (a number ≥ 0)");
  }

  /** An array of durations. */
  durations(value: unknown, where: string): number[] | undefined {
    const items = this.array(value, where);
    if (items === undefined) return undefined;
    const bad = items.findIndex((item) =>
      typeof item !== "number" || !Number.isFinite(item) || item < 0
    );
    return bad < 0
      ? items as number[]
      : this.#fail(`${where}[${bad}]`, items[bad], "a duration in ms (a number ≥ 0)");
  }

  /** An integer in [min, max]. */
  integerIn(value: unknown, where: string, min: number, max: number): number | undefined {
    return Number.isInteger(value) && (value as number) >= min && (value as number) <= max
      ? value as number
      : this.#fail(where, value, `an integer from ${min} to ${max}`);
  }

  /** A string. */
  string(value: unknown, where: string): string | undefined {
    return typeof value === "string" ? value : this.#fail(where, value, "a string");
  }

  /** A string, or absent. */
  optionalString(value: unknown, where: string): string | undefined {
    return value === undefined ? undefined : this.string(value, where);
  }

  /** A boolean. */
  boolean(value: unknown, where: string): boolean | undefined {
    return typeof value === "boolean" ? value : this.#fail(where, value, "true or false");
  }

  /** One of the allowed values. */
  oneOf<T>(value: unknown, allowed: readonly T[], where: string): T | undefined {
    return allowed.includes(value as T)
      ? value as T
      : this.#fail(where, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }

  /** An array of numbers. */
  numbers(value: unknown, where: string): number[] | undefined {
    const items = this.array(value, where);
    if (items === undefined) return undefined;
    const bad = items.findIndex((item) => typeof item !== "number");
    return bad < 0 ? items as number[] : this.#fail(`${where}[${bad}]`, items[bad], "a number");
  }

  /** An array of strings. */
  strings(value: unknown, where: string): string[] | undefined {
    const items = this.array(value, where);
    if (items === undefined) return undefined;
    const bad = items.findIndex((item) => typeof item !== "string");
    return bad < 0 ? items as string[] : this.#fail(`${where}[${bad}]`, items[bad], "a string");
  }

  /** A date-time string that `Date` parses. */
  dateString(value: unknown, where: string): string | undefined {
    return typeof value === "string" && Number.isFinite(Date.parse(value))
      ? value
      : this.#fail(where, value, "a date");
  }
}
