/**
 * A float64 reference of the attention backward for small shapes: the gradients of
 * L = Σ(out ⊙ dOut) with respect to x and every weight and bias, written plainly from the chain
 * rule (no blocking, no recomputation, every sum in float64). The CPU backward is tested against
 * it, and it is tested against central finite differences of the forward oracle (`oracle.ts`).
 * Any batch, kvHeads and mask (`keyRange`); O(batch·heads·n²·d_k) time and memory, so keep n
 * small.
 *
 * @module
 */

import type { AttentionGradients } from "../gradients.ts";
import {
  type AttentionInputs,
  headWidth,
  keyRange,
  kvHeadOf,
  kvWidth,
  resolveShape,
} from "../shape.ts";

/** What the forward computes on the way to `out`, in float64. */
export interface OracleActivations {
  /** [batch·seqLen, dModel] */
  q: Float64Array;
  /** [batch·seqLen, kvHeads·dK] */
  k: Float64Array;
  /** [batch·seqLen, kvHeads·dK] */
  v: Float64Array;
  /** softmax probabilities, [batch, heads, seqLen, seqLen], 0 where the mask hides a key */
  probabilities: Float64Array;
  /** log Σ_j exp(score_ij) of each row's scaled, unmasked scores, [batch, heads, seqLen] */
  logSumExp: Float64Array;
  /** heads' outputs side by side, [batch·seqLen, dModel] */
  concat: Float64Array;
  /** [batch·seqLen, dModel] */
  out: Float64Array;
}

/** y = input @ weight + bias over `rows` rows; weight stored [inWidth, outWidth]. */
function linear(
  input: ArrayLike<number>,
  rows: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
): Float64Array {
  const outWidth = bias.length, inWidth = weight.length / outWidth;
  const output = new Float64Array(rows * outWidth);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < outWidth; j++) {
      let sum = bias[j]!;
      for (let c = 0; c < inWidth; c++) sum += input[r * inWidth + c]! * weight[c * outWidth + j]!;
      output[r * outWidth + j] = sum;
    }
  }
  return output;
}

/**
 * The forward in float64, keeping every intermediate the backward needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateInputs } from "../random.ts";
 * const { out } = oracleActivations(generateInputs({ seqLen: 3, dModel: 8, heads: 2 }, 1));
 * assert.ok(out.length === 24);
 * ```
 */
export function oracleActivations(inputs: AttentionInputs): OracleActivations {
  const shape = resolveShape(inputs.shape);
  const { seqLen: n, dModel: d, heads, batch } = shape;
  const dK = headWidth(shape), kvw = kvWidth(shape), scale = 1 / Math.sqrt(dK);
  const w = inputs.weights, rows = batch * n;
  const q = linear(inputs.x, rows, w.wQ, w.bQ);
  const k = linear(inputs.x, rows, w.wK, w.bK);
  const v = linear(inputs.x, rows, w.wV, w.bV);
  const probabilities = new Float64Array(batch * heads * n * n);
  const logSumExp = new Float64Array(batch * heads * n);
  const concat = new Float64Array(rows * d);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const qc = h * dK, kc = kvHeadOf(shape, h) * dK;
      for (let i = 0; i < n; i++) {
        const [first, end] = keyRange(shape, i);
        const p = probabilities.subarray(
          ((b * heads + h) * n + i) * n,
          ((b * heads + h) * n + i + 1) * n,
        );
        let maximum = -Infinity;
        for (let j = first; j < end; j++) {
          let dot = 0;
          for (let c = 0; c < dK; c++) {
            dot += q[(b * n + i) * d + qc + c]! * k[(b * n + j) * kvw + kc + c]!;
          }
          p[j] = dot * scale;
          maximum = Math.max(maximum, p[j]!);
        }
        let sum = 0;
        for (let j = first; j < end; j++) sum += p[j] = Math.exp(p[j]! - maximum);
        logSumExp[(b * heads + h) * n + i] = maximum + Math.log(sum);
        for (let j = first; j < end; j++) p[j]! /= sum;
        for (let c = 0; c < dK; c++) {
          let value = 0;
          for (let j = first; j < end; j++) value += p[j]! * v[(b * n + j) * kvw + kc + c]!;
          concat[(b * n + i) * d + qc + c] = value;
        }
      }
    }
  }
  const out = linear(concat, rows, w.wO, w.bO);
  return { q, k, v, probabilities, logSumExp, concat, out };
}

/** Gradients of y = input @ weight + bias: the weight's and bias's, and dInput added into `dInput`. */
function linearBackward(
  input: ArrayLike<number>,
  rows: number,
  weight: ArrayLike<number>,
  dOutput: Float64Array,
  dInput: Float64Array,
): { weight: Float64Array; bias: Float64Array } {
  const outWidth = dOutput.length / rows, inWidth = weight.length / outWidth;
  const dWeight = new Float64Array(inWidth * outWidth), dBias = new Float64Array(outWidth);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < outWidth; j++) {
      const g = dOutput[r * outWidth + j]!;
      dBias[j]! += g;
      for (let c = 0; c < inWidth; c++) {
        dWeight[c * outWidth + j]! += input[r * inWidth + c]! * g;
        dInput[r * inWidth + c]! += g * weight[c * outWidth + j]!;
      }
    }
  }
  return { weight: dWeight, bias: dBias };
}

/** The gradients inside attention: of the heads' output (dConcat), and of q, k and v. */
export interface OracleAttentionGradients {
  /** [batch·seqLen, dModel] */
  dConcat: Float64Array;
  /** [batch·seqLen, dModel] */
  dq: Float64Array;
  /** [batch·seqLen, kvHeads·dK] */
  dk: Float64Array;
  /** [batch·seqLen, kvHeads·dK] */
  dv: Float64Array;
}

/**
 * dq, dk, dv from dConcat through softmax attention:
 * dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = dS·K/√d_k, dK = dSᵀ·Q/√d_k,
 * dK and dV summed over the query heads that share a kv head.
 */
function attentionBackward(
  inputs: AttentionInputs,
  a: OracleActivations,
  dConcat: Float64Array,
): Omit<OracleAttentionGradients, "dConcat"> {
  const shape = resolveShape(inputs.shape);
  const { seqLen: n, dModel: d, heads, batch } = shape;
  const dK = headWidth(shape), kvw = kvWidth(shape), scale = 1 / Math.sqrt(dK);
  const dq = new Float64Array(batch * n * d);
  const dk = new Float64Array(batch * n * kvw), dv = new Float64Array(batch * n * kvw);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const qc = h * dK, kc = kvHeadOf(shape, h) * dK;
      for (let i = 0; i < n; i++) {
        const qRow = (b * n + i) * d + qc;
        let rowDot = 0; // rowsum(dO ⊙ O) of row i
        for (let c = 0; c < dK; c++) rowDot += dConcat[qRow + c]! * a.concat[qRow + c]!;
        const [first, end] = keyRange(shape, i);
        for (let j = first; j < end; j++) {
          const p = a.probabilities[((b * heads + h) * n + i) * n + j]!;
          const kvRow = (b * n + j) * kvw + kc;
          let dP = 0;
          for (let c = 0; c < dK; c++) dP += dConcat[qRow + c]! * a.v[kvRow + c]!;
          const dS = p * (dP - rowDot);
          for (let c = 0; c < dK; c++) {
            dq[qRow + c]! += dS * a.k[kvRow + c]! * scale;
            dk[kvRow + c]! += dS * a.q[qRow + c]! * scale;
            dv[kvRow + c]! += p * dConcat[qRow + c]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** Everything the float64 backward computes: the forward's intermediates, attention's gradients, and the result. */
export interface OracleBackward {
  activations: OracleActivations;
  attention: OracleAttentionGradients;
  gradients: AttentionGradients<Float64Array>;
}

/** The backward in float64 with its intermediates (for tests of the stages of a backward). */
export function oracleBackward(inputs: AttentionInputs, dOut: ArrayLike<number>): OracleBackward {
  const shape = resolveShape(inputs.shape);
  const rows = shape.batch * shape.seqLen, w = inputs.weights;
  const expected = rows * shape.dModel;
  if (dOut.length !== expected) {
    throw new RangeError(`dOut has ${dOut.length} elements, expected ${expected}`);
  }
  const a = oracleActivations(inputs);
  const dConcat = new Float64Array(rows * shape.dModel);
  const output = linearBackward(a.concat, rows, w.wO, Float64Array.from(dOut), dConcat);
  const { dq, dk, dv } = attentionBackward(inputs, a, dConcat);
  const dx = new Float64Array(rows * shape.dModel);
  const query = linearBackward(inputs.x, rows, w.wQ, dq, dx);
  const key = linearBackward(inputs.x, rows, w.wK, dk, dx);
  const value = linearBackward(inputs.x, rows, w.wV, dv, dx);
  const gradients = {
    x: dx,
    wQ: query.weight,
    bQ: query.bias,
    wK: key.weight,
    bK: key.bias,
    wV: value.weight,
    bV: value.bias,
    wO: output.weight,
    bO: output.bias,
  };
  return { activations: a, attention: { dConcat, dq, dk, dv }, gradients };
}

/**
 * The gradients of L = Σ(out ⊙ dOut) with respect to x and every weight and bias, in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateInputs } from "../random.ts";
 * const inputs = generateInputs({ seqLen: 3, dModel: 8, heads: 2 }, 1);
 * const gradients = attentionBackwardOracle(inputs, new Float64Array(24).fill(1));
 * assert.ok(gradients.x.length === 24 && gradients.bO[0] === 3);
 * ```
 */
export function attentionBackwardOracle(
  inputs: AttentionInputs,
  dOut: ArrayLike<number>,
): AttentionGradients<Float64Array> {
  return oracleBackward(inputs, dOut).gradients;
}
