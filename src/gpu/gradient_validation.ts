/**
 * Comparing a backward's gradients with the CPU path's, tensor by tensor, by the forward's rules
 * (`validation.ts`: relative L2 and per-element bounds, NaN fails) — with one exception that
 * follows from the mathematics: db_k is zero in exact arithmetic. b_k adds q_i·b_k to every score
 * of row i, a constant per row that the softmax removes, so L does not depend on b_k at all; what
 * both paths compute is rounding noise (~1e-7), and a relative comparison of noise with noise
 * fails by chance. db_k is held instead to the scale of db_v, the same sum over the same rows of
 * the value path: rms(db_k) ≤ tolerance·rms(db_v), each element within 10× that.
 *
 * The same holds for the whole query–key path where every query sees a single key (n = 1, or
 * sliding:1): the softmax of one score is 1 whatever the score, so dW_q, db_q and dW_k vanish in
 * exact arithmetic too. A reference gradient of the query–key path below VANISHING_SHARE of its
 * value-path partner's scale is held to that partner's scale the same way.
 *
 * @module
 */

import { type AttentionGradients, type GradientName, GRADIENTS } from "../gradients.ts";
import type { ValidationResult } from "../results.ts";
import { compareOutputs, ELEMENT_TOLERANCE_FACTOR } from "./validation.ts";

/** The gradients that are zero in exact arithmetic, with the gradient whose scale bounds them. */
export const ZERO_GRADIENTS: Readonly<Partial<Record<GradientName, GradientName>>> = { bK: "bV" };

/** The query–key path's gradients, with their value-path partner (whose scale bounds them when
 * they vanish: a single key per query). */
export const QUERY_KEY_PARTNERS: Readonly<Partial<Record<GradientName, GradientName>>> = {
  wQ: "wV",
  bQ: "bV",
  wK: "wV",
};

/** A reference gradient below this share of its partner's rms is zero up to rounding. */
export const VANISHING_SHARE = 1e-5;

/** Root mean square of an array (NaN if it holds a NaN). */
function rms(values: Float32Array): number {
  let squares = 0;
  for (const value of values) squares += value * value;
  return Math.sqrt(squares / Math.max(values.length, 1));
}

/** `got`, which should be zero, against a scale: absolute errors relative to `scaleRms`. */
function compareWithZero(got: Float32Array, scaleRms: number, tolerance: number): ValidationResult {
  const bound = ELEMENT_TOLERANCE_FACTOR * tolerance * scaleRms;
  const firstMismatches: number[] = [];
  let mismatchCount = 0, maxAbsError = 0;
  got.forEach((value, i) => {
    // written so that NaN counts as a mismatch
    if (!(Math.abs(value) <= bound)) {
      mismatchCount++;
      if (firstMismatches.length < 10) firstMismatches.push(i);
    }
    maxAbsError = Math.max(maxAbsError, Math.abs(value));
  });
  const relL2Error = rms(got) / scaleRms;
  return {
    maxAbsError,
    relL2Error,
    tolerance,
    mismatchCount,
    firstMismatches,
    passed: Number.isFinite(relL2Error) && relL2Error <= tolerance && mismatchCount === 0,
  };
}

/**
 * Every gradient of `got` against the reference `want` (the CPU path), one result per tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GRADIENTS } from "../gradients.ts";
 * // b_k's gradient is zero in exact arithmetic (softmax ignores a shift shared by every key)
 * const same = Object.fromEntries(
 *   GRADIENTS.map(({ name }) => [name, new Float32Array(name === "bK" ? [0, 0] : [1, 2])]),
 * );
 * const results = compareGradients(same as never, same as never, 1e-4);
 * assert.ok(Object.values(results).every((r) => r.passed));
 * ```
 */
export function compareGradients(
  got: AttentionGradients,
  want: AttentionGradients,
  tolerance: number,
): Record<GradientName, ValidationResult> {
  const results = {} as Record<GradientName, ValidationResult>;
  for (const { name } of GRADIENTS) {
    const scaleOf = ZERO_GRADIENTS[name] ?? _vanishingPartner(name, want);
    results[name] = scaleOf === undefined || got[name].length !== want[name].length
      ? compareOutputs(got[name], want[name], tolerance)
      : compareWithZero(got[name], rms(want[scaleOf]), tolerance);
  }
  return results;
}

/** The partner whose scale bounds `name` when the reference of `name` vanishes, else undefined. */
function _vanishingPartner(
  name: GradientName,
  want: AttentionGradients,
): GradientName | undefined {
  const partner = QUERY_KEY_PARTNERS[name];
  if (partner === undefined) return undefined;
  const partnerRms = rms(want[partner]);
  return rms(want[name]) <= VANISHING_SHARE * partnerRms ? partner : undefined;
}
