/**
 * A float64 reference of the attention forward for small shapes: the plain formula, no blocking,
 * no workers, every sum in float64. The GPU tests compare against it (the CPU path is checked
 * against the same formula by its own tests); O(n²·d) time, so keep n small.
 *
 * @module
 */

import type { AttentionInputs } from "../shape.ts";

/**
 * out = concat_h(softmax(q_h k_hᵀ / √d_k) v_h) @ w_o + b_o, with q = x @ w_q + b_q etc.
 *
 * @example
 * ```ts
 * const out = attentionOracle(generateInputs({ seqLen: 3, dModel: 8, heads: 2 }, 1));
 * console.assert(out.length === 24);
 * ```
 */
export function attentionOracle(inputs: AttentionInputs): Float64Array {
  const { seqLen: n, dModel: d, heads } = inputs.shape;
  const dK = d / heads;
  const w = inputs.weights;
  const project = (a: ArrayLike<number>, weight: Float32Array, bias: Float32Array) => {
    const out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        let sum = bias[j]!;
        for (let k = 0; k < d; k++) sum += a[i * d + k]! * weight[k * d + j]!;
        out[i * d + j] = sum;
      }
    }
    return out;
  };
  const q = project(inputs.x, w.wQ, w.bQ);
  const k = project(inputs.x, w.wK, w.bK);
  const v = project(inputs.x, w.wV, w.bV);
  const concat = new Float64Array(n * d);
  const scale = 1 / Math.sqrt(dK);
  const scores = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let c = 0; c < dK; c++) dot += q[i * d + h * dK + c]! * k[j * d + h * dK + c]!;
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j]! - max);
      for (let c = 0; c < dK; c++) {
        let value = 0;
        for (let j = 0; j < n; j++) value += scores[j]! * v[j * d + h * dK + c]!;
        concat[i * d + h * dK + c] = value / sum;
      }
    }
  }
  return project(concat, w.wO, w.bO);
}
