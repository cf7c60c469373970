/**
 * How a series' memory grows with n: the exponent of the bytes that depend on n (measured peak
 * minus weights) between its two largest measured lengths, where the leading term shows best.
 *
 * @module
 */

import type { PointResult, SeriesResult } from "../results.ts";
import { fitScaling } from "../stats.ts";

/** The memory growth of a series between two lengths. */
export interface MemoryGrowth {
  from: PointResult;
  to: PointResult;
  /** log(bytes₂/bytes₁) / log(n₂/n₁) of the bytes that depend on n */
  exponent: number;
}

/** Bytes of a forward that depend on n: the measured peak minus the weights, which do not. */
export function lengthDependentBytes(point: PointResult): number {
  return point.memory!.peakBytes - (point.memory!.peakBytesByClass.weights ?? 0);
}

/** The growth between the two largest measured lengths, or null with fewer than two. */
export function memoryGrowth(series: SeriesResult): MemoryGrowth | null {
  const points = series.points.filter((p) =>
    p.status === "ok" && p.wallMsSummary !== undefined && p.memory !== undefined
  );
  if (points.length < 2) return null;
  const [from, to] = points.slice(-2) as [PointResult, PointResult];
  const fit = fitScaling(
    [from.seqLen, to.seqLen],
    [lengthDependentBytes(from), lengthDependentBytes(to)],
  );
  return fit === undefined ? null : { from, to, exponent: fit.exponent };
}
