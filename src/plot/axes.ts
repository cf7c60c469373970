/**
 * Log axes that read well: padded domains, a handful of ticks (powers of ten, or the measured
 * sequence lengths, or powers of two for bytes) and labels with units (ms, MiB/GiB, 10ⁿ FLOPs).
 *
 * @module
 */

const SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** `10ⁿ` with Unicode superscripts (DejaVu Sans has them). */
export function powerOfTen(exponent: number): string {
  const digits = String(Math.abs(exponent)).split("").map((d) => SUPERSCRIPT_DIGITS[Number(d)]);
  return `10${exponent < 0 ? "⁻" : ""}${digits.join("")}`;
}

/** The finite, positive values of a list. */
export function positiveFinite(values: Iterable<number>): number[] {
  return [...values].filter((value) => Number.isFinite(value) && value > 0);
}

/**
 * A log domain around the values, widened by `padding` (a factor) on both sides; [1, 10] when
 * there is nothing to show.
 */
export function logDomain(values: Iterable<number>, padding = 1.6): [number, number] {
  const positive = positiveFinite(values);
  if (positive.length === 0) return [1, 10];
  const low = Math.min(...positive), high = Math.max(...positive);
  return [low / padding, high * padding];
}

/**
 * Ticks of a log axis: powers of ten, every `step` decades so there are at most `maxTicks`;
 * 1-2-5 (or 1…9) steps when the domain spans less than two decades.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert(decadeTicks([5, 20000], 6).join() === "10,100,1000,10000");
 * ```
 */
export function decadeTicks(domain: readonly [number, number], maxTicks = 7): number[] {
  const [low, high] = domain;
  const first = Math.ceil(Math.log10(low) - 1e-9), last = Math.floor(Math.log10(high) + 1e-9);
  if (last - first + 1 >= 2) {
    const step = Math.ceil((last - first + 1) / maxTicks);
    const ticks: number[] = [];
    for (let exponent = first; exponent <= last; exponent += step) ticks.push(10 ** exponent);
    return ticks;
  }
  // a narrow domain: 1-2-5 steps, or every integer mantissa when that gives fewer than two ticks
  let ticks: number[] = [];
  for (const mantissas of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    ticks = [];
    for (let exponent = first - 1; exponent <= last + 1; exponent++) {
      for (const mantissa of mantissas) {
        const value = mantissa * 10 ** exponent;
        if (value >= low * (1 - 1e-9) && value <= high * (1 + 1e-9)) ticks.push(value);
      }
    }
    if (ticks.length >= 2) break;
  }
  return ticks;
}

/**
 * Ticks of a bytes axis: powers of two, every `step` doublings (a multiple of the step, so 1 KiB,
 * 1 MiB, 16 MiB, 1 GiB show where they can), at most `maxTicks`.
 */
export function binaryTicks(domain: readonly [number, number], maxTicks = 8): number[] {
  const [low, high] = domain;
  const first = Math.ceil(Math.log2(low) - 1e-9), last = Math.floor(Math.log2(high) + 1e-9);
  if (last < first) return [];
  const span = last - first + 1;
  const step = [1, 2, 3, 4, 5, 10, 20].find((candidate) => span / candidate <= maxTicks) ??
    Math.ceil(span / maxTicks);
  const ticks: number[] = [];
  for (let exponent = Math.ceil(first / step) * step; exponent <= last; exponent += step) {
    ticks.push(2 ** exponent);
  }
  return ticks.length >= 2 ? ticks : [...new Set([2 ** first, 2 ** last])];
}

/**
 * Ticks for the sequence-length axis: the measured lengths themselves when they are few and far
 * enough apart on a log axis, otherwise powers of ten.
 */
export function seqLenTicks(
  seqLens: readonly number[],
  domain: readonly [number, number],
): number[] {
  const sorted = [...new Set(seqLens)].filter((n) => n > 0).sort((a, b) => a - b);
  const spaced = sorted.every((n, i) => i === 0 || n / sorted[i - 1]! >= 2.5);
  if (sorted.length >= 1 && sorted.length <= 8 && spaced) return sorted;
  return decadeTicks(domain);
}

/** A sequence length: `10,000`. */
export function formatSeqLen(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

function _trimmed(value: number, significant: number): string {
  return String(Number(value.toPrecision(significant)));
}

/** A tick of a log axis: plain decimals from 0.001 to 10 000, `10ⁿ` (or `m×10ⁿ`) beyond. */
export function formatLogTick(value: number): string {
  if (value >= 1e-3 && value < 1e5) {
    return Number(value.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
  }
  const exponent = Math.floor(Math.log10(value) + 1e-9);
  const mantissa = Number((value / 10 ** exponent).toPrecision(6));
  return mantissa === 1 ? powerOfTen(exponent) : `${_trimmed(mantissa, 3)}×${powerOfTen(exponent)}`;
}

/** A count of FLOPs on a tick: `10⁹`, `2×10⁹`. */
export function formatFlopsTick(value: number): string {
  const exponent = Math.floor(Math.log10(value) + 1e-9);
  const mantissa = Number((value / 10 ** exponent).toPrecision(6));
  return mantissa === 1 ? powerOfTen(exponent) : `${_trimmed(mantissa, 3)}×${powerOfTen(exponent)}`;
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Bytes in binary units: `512 B`, `4 MiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "n/a";
  let unit = 0, value = bytes;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = value >= 100 ? value.toFixed(0) : _trimmed(value, 3);
  return `${text} ${BINARY_UNITS[unit]}`;
}

/** Milliseconds with three significant digits: `12.3 µs` (below 0.1 ms), `12.3 ms`, `1,234 ms`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 0.1) return `${_trimmed(ms * 1000, 3)} µs`;
  if (ms >= 1000) return `${Math.round(ms).toLocaleString("en-US")} ms`;
  return `${_trimmed(ms, 3)} ms`;
}

/** A throughput in FLOP/s with an SI prefix: `1 GFLOP/s`, `100 MFLOP/s`. */
export function formatFlopRate(flopsPerSecond: number): string {
  const prefixes = [
    [1e15, "P"],
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
    [1, ""],
  ] as const;
  for (const [scale, prefix] of prefixes) {
    if (flopsPerSecond >= scale * (1 - 1e-9)) {
      return `${_trimmed(flopsPerSecond / scale, 3)} ${prefix}FLOP/s`;
    }
  }
  return `${_trimmed(flopsPerSecond, 3)} FLOP/s`;
}
