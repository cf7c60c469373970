/**
 * Comparing a GPU output with the CPU path: the largest absolute difference and the relative L2
 * error ‖gpu − cpu‖₂ / ‖cpu‖₂, held to a relative L2 tolerance. A NaN or infinity anywhere, or
 * outputs of different lengths, fail.
 *
 * @module
 */

import type { ValidationResult } from "../results.ts";

/**
 * Compare two outputs element by element (sums in float64).
 *
 * @example
 * ```ts
 * const result = compareOutputs(new Float32Array([1, 2]), new Float32Array([1, 2.0001]), 1e-4);
 * console.assert(result.passed && result.maxAbsError > 0);
 * ```
 */
export function compareOutputs(
  gpu: Float32Array,
  cpu: Float32Array,
  tolerance: number,
): ValidationResult {
  if (gpu.length !== cpu.length) {
    return { maxAbsError: NaN, relL2Error: NaN, tolerance, passed: false };
  }
  let maxAbsError = 0;
  let differenceSquares = 0;
  let referenceSquares = 0;
  let finite = true;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i]!;
    const c = cpu[i]!;
    if (!Number.isFinite(g) || !Number.isFinite(c)) {
      finite = false;
      maxAbsError = NaN;
      continue;
    }
    const difference = g - c;
    if (finite) maxAbsError = Math.max(maxAbsError, Math.abs(difference));
    differenceSquares += difference * difference;
    referenceSquares += c * c;
  }
  const relL2Error = !finite
    ? NaN
    : referenceSquares > 0
    ? Math.sqrt(differenceSquares / referenceSquares)
    : Math.sqrt(differenceSquares); // an all-zero reference: the absolute L2 error
  return { maxAbsError, relL2Error, tolerance, passed: finite && relL2Error <= tolerance };
}
