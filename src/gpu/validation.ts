/**
 * Comparing a GPU output with the CPU path, two ways: the relative L2 error
 * ‖gpu − cpu‖₂ / ‖cpu‖₂ held to the tolerance, and element by element, so that a few wrong elements
 * cannot hide in a large, mostly right output: |gpu − cpu| ≤ 10·tolerance·(|cpu| + rms(cpu)).
 * A NaN or infinity anywhere, or outputs of different lengths, fail.
 *
 * @module
 */

import type { PrecisionName } from "../config.ts";
import type { ValidationResult } from "../results.ts";

/**
 * Relative L2 tolerance of a GPU output against the CPU path, per storage precision. f32: the
 * kernels sum in another order than the CPU path, ~1e-6 measured. f16 keeps 11 significant bits, so
 * every stored value is off by up to 2⁻¹¹ ≈ 4.9e-4 and an output goes through a few such roundings
 * (≤ 6.2e-4 measured over the validate battery); a wrong kernel errs by O(1).
 */
export const GPU_TOLERANCES: Readonly<Record<PrecisionName, number>> = { f32: 1e-4, f16: 1e-2 };

/** How much looser the per-element bound is than the relative L2 tolerance. */
export const ELEMENT_TOLERANCE_FACTOR = 10;

/** Mismatching element indices kept in a result (the rest are only counted). */
const MISMATCHES_KEPT = 10;

/**
 * Compare two outputs element by element (sums in float64).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const result = compareOutputs(new Float32Array([1, 2]), new Float32Array([1, 2.0001]), 1e-4);
 * assert(result.passed && result.maxAbsError > 0);
 * ```
 */
export function compareOutputs(
  gpu: Float32Array,
  cpu: Float32Array,
  tolerance: number,
): ValidationResult {
  if (gpu.length !== cpu.length) {
    return {
      maxAbsError: NaN,
      relL2Error: NaN,
      tolerance,
      mismatchCount: Math.max(gpu.length, cpu.length),
      firstMismatches: [],
      passed: false,
    };
  }
  let referenceSquares = 0;
  for (const c of cpu) referenceSquares += c * c;
  const rms = Math.sqrt(referenceSquares / Math.max(cpu.length, 1));
  let maxAbsError = 0;
  let differenceSquares = 0;
  let finite = Number.isFinite(referenceSquares);
  const firstMismatches: number[] = [];
  let mismatchCount = 0;
  for (let i = 0; i < gpu.length; i++) {
    const g = gpu[i]!;
    const c = cpu[i]!;
    const difference = Math.abs(g - c);
    // written so that NaN (from either side) counts as a mismatch
    if (!(difference <= ELEMENT_TOLERANCE_FACTOR * tolerance * (Math.abs(c) + rms))) {
      mismatchCount++;
      if (firstMismatches.length < MISMATCHES_KEPT) firstMismatches.push(i);
    }
    if (!Number.isFinite(g) || !Number.isFinite(c)) {
      finite = false;
      continue;
    }
    maxAbsError = Math.max(maxAbsError, difference);
    differenceSquares += difference * difference;
  }
  const relL2Error = !finite
    ? NaN
    : referenceSquares > 0
    ? Math.sqrt(differenceSquares / referenceSquares)
    : Math.sqrt(differenceSquares); // an all-zero reference: the absolute L2 error
  return {
    maxAbsError: finite ? maxAbsError : NaN,
    relL2Error,
    tolerance,
    mismatchCount,
    firstMismatches,
    passed: finite && relL2Error <= tolerance && mismatchCount === 0,
  };
}
