/**
 * A float64 reference of the attention forward for small shapes: the plain formula, no blocking,
 * no workers, every sum in float64. The GPU tests compare against it (the CPU path is checked
 * against the same formula by its own tests); O(n²·d) time, so keep n small.
 *
 * Every configuration of src/shape.ts: batch, grouped-query kv heads, the masks (through `keyRange`)
 * and linear attention.
 *
 * @module
 */

import type { AttentionInputs, ResolvedShape } from "../shape.ts";
import { headWidth, keyRange, kvHeadOf, kvWidth, resolveShape } from "../shape.ts";

/** Row-major float64 q [batch·seqLen, dModel], k and v [batch·seqLen, kvHeads·dK]. */
interface Projections {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
}

/** One head of one sequence: where its rows start and which columns it reads and writes. */
interface HeadSlice {
  /** first row of the sequence in [batch·seqLen, …] */
  row0: number;
  /** first column of the query head in q and in the concatenated output */
  qColumn: number;
  /** first column of its kv head in k and v */
  kvColumn: number;
}

/**
 * out = concat_h(attention_h) @ w_o + b_o, with q = x @ w_q + b_q, k = x @ w_k + b_k,
 * v = x @ w_v + b_v, per sequence of the batch. Softmax attention:
 * attention_h = softmax(q_h k_gᵀ / √d_k) v_g over the keys the mask allows, g the kv head of h.
 * Linear attention (Katharopoulos et al., 2020), φ(x) = elu(x) + 1:
 * attention_h,i = φ(q_i)ᵀ S / (φ(q_i)ᵀ z), S = Σ_j φ(k_j) v_jᵀ, z = Σ_j φ(k_j) over the allowed
 * keys (all, or j ≤ i); no 1/√d_k scale. Linear attention with the sliding mask throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateInputs } from "../random.ts";
 * const out = attentionOracle(generateInputs({ seqLen: 3, dModel: 8, heads: 2, batch: 2 }, 1));
 * assert(out.length === 48);
 * ```
 */
export function attentionOracle(inputs: AttentionInputs): Float64Array {
  const shape = resolveShape(inputs.shape);
  if (shape.attention === "linear" && shape.mask === "sliding") {
    throw new Error("linear attention supports the full and causal masks only");
  }
  const rows = shape.batch * shape.seqLen;
  const { dModel } = shape;
  const w = inputs.weights;
  const projections: Projections = {
    q: project(inputs.x, rows, dModel, w.wQ, w.bQ, dModel),
    k: project(inputs.x, rows, dModel, w.wK, w.bK, kvWidth(shape)),
    v: project(inputs.x, rows, dModel, w.wV, w.bV, kvWidth(shape)),
  };
  const concat = new Float64Array(rows * dModel);
  const dK = headWidth(shape);
  const attendHead = shape.attention === "linear" ? linearHead : softmaxHead;
  for (let b = 0; b < shape.batch; b++) {
    for (let h = 0; h < shape.heads; h++) {
      const slice = { row0: b * shape.seqLen, qColumn: h * dK, kvColumn: kvHeadOf(shape, h) * dK };
      attendHead(shape, projections, slice, concat);
    }
  }
  return project(concat, rows, dModel, w.wO, w.bO, dModel);
}

/** a [rows, inWidth] @ weight [inWidth, outWidth] + bias, in float64. */
function project(
  a: ArrayLike<number>,
  rows: number,
  inWidth: number,
  weight: Float32Array,
  bias: Float32Array,
  outWidth: number,
): Float64Array {
  const out = new Float64Array(rows * outWidth);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < outWidth; j++) {
      let sum = bias[j]!;
      for (let k = 0; k < inWidth; k++) sum += a[i * inWidth + k]! * weight[k * outWidth + j]!;
      out[i * outWidth + j] = sum;
    }
  }
  return out;
}

/** softmax(q kᵀ / √d_k) v for one head of one sequence, over each query's key range. */
function softmaxHead(
  shape: ResolvedShape,
  { q, k, v }: Projections,
  { row0, qColumn, kvColumn }: HeadSlice,
  concat: Float64Array,
): void {
  const { seqLen: n, dModel: d } = shape;
  const dK = headWidth(shape), kvW = kvWidth(shape);
  const scale = 1 / Math.sqrt(dK);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [first, end] = keyRange(shape, i);
    const qRow = (row0 + i) * d + qColumn;
    let max = -Infinity;
    for (let j = first; j < end; j++) {
      let dot = 0;
      const kRow = (row0 + j) * kvW + kvColumn;
      for (let c = 0; c < dK; c++) dot += q[qRow + c]! * k[kRow + c]!;
      scores[j] = dot * scale;
      max = Math.max(max, scores[j]!);
    }
    let sum = 0;
    for (let j = first; j < end; j++) sum += scores[j] = Math.exp(scores[j]! - max);
    for (let c = 0; c < dK; c++) {
      let value = 0;
      for (let j = first; j < end; j++) value += scores[j]! * v[(row0 + j) * kvW + kvColumn + c]!;
      concat[qRow + c] = value / sum;
    }
  }
}

/** φ(x) = elu(x) + 1: x + 1 for x > 0, eˣ otherwise (positive, so the normaliser is too). */
function featureMap(x: number): number {
  return x > 0 ? x + 1 : Math.exp(x);
}

/**
 * Linear attention for one head of one sequence: S and z summed over all keys (full), or as
 * running prefix sums that query i reads after adding key i (causal).
 */
function linearHead(
  shape: ResolvedShape,
  { q, k, v }: Projections,
  { row0, qColumn, kvColumn }: HeadSlice,
  concat: Float64Array,
): void {
  const { seqLen: n, dModel: d } = shape;
  const dK = headWidth(shape), kvW = kvWidth(shape);
  const state = new Float64Array(dK * dK); // S[a, c] = Σ_j φ(k_j)[a] · v_j[c]
  const normaliser = new Float64Array(dK); // z[a] = Σ_j φ(k_j)[a]
  const addKey = (j: number) => {
    const kvRow = (row0 + j) * kvW + kvColumn;
    for (let a = 0; a < dK; a++) {
      const feature = featureMap(k[kvRow + a]!);
      normaliser[a]! += feature;
      for (let c = 0; c < dK; c++) state[a * dK + c]! += feature * v[kvRow + c]!;
    }
  };
  if (shape.mask === "full") { for (let j = 0; j < n; j++) addKey(j); }
  const featureQ = new Float64Array(dK);
  for (let i = 0; i < n; i++) {
    if (shape.mask === "causal") addKey(i);
    const qRow = (row0 + i) * d + qColumn;
    let denominator = 0;
    for (let a = 0; a < dK; a++) {
      featureQ[a] = featureMap(q[qRow + a]!);
      denominator += featureQ[a]! * normaliser[a]!;
    }
    for (let c = 0; c < dK; c++) {
      let numerator = 0;
      for (let a = 0; a < dK; a++) numerator += featureQ[a]! * state[a * dK + c]!;
      concat[qRow + c] = numerator / denominator;
    }
  }
}
