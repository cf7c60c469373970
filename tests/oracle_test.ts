import assert from "node:assert/strict";
import { attentionOracle } from "../src/gpu/oracle.ts";
import { generateInputs } from "../src/random.ts";
import type { AttentionInputs, MaskName } from "../src/shape.ts";

/** Largest |a − b| relative to the largest |b|. */
function relativeMaxError(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let error = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    error = Math.max(error, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return error / scale;
}

/** Whether query i sees key j, written from the definitions (not through keyRange). */
function allows(mask: MaskName, window: number, i: number, j: number): boolean {
  if (mask === "full") return true;
  if (mask === "causal") return j <= i;
  return j <= i && j > i - window;
}

/** [n, inW] @ [inW, outW] + bias in float64. */
function linearLayer(a: ArrayLike<number>, n: number, weight: Float32Array, bias: Float32Array) {
  const inW = weight.length / bias.length, outW = bias.length;
  const out = new Float64Array(n * outW);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outW; o++) {
      let sum = bias[o]!;
      for (let c = 0; c < inW; c++) sum += a[i * inW + c]! * weight[c * outW + o]!;
      out[i * outW + o] = sum;
    }
  }
  return out;
}

/**
 * Brute-force attention of one multi-head (kvHeads = heads), batch-1 forward: the whole n×n score
 * matrix per head with −∞ added where the mask forbids a key (softmax), or the direct O(n²) sum
 * Σ_j φ(q_i)·φ(k_j) v_j / Σ_j φ(q_i)·φ(k_j) over allowed keys (linear).
 */
function bruteForce(inputs: AttentionInputs, kind: "softmax" | "linear"): Float64Array {
  const { seqLen: n, dModel: d, heads, mask = "full", window = 0 } = inputs.shape;
  const dK = d / heads, w = inputs.weights;
  const q = linearLayer(inputs.x, n, w.wQ, w.bQ);
  const k = linearLayer(inputs.x, n, w.wK, w.bK);
  const v = linearLayer(inputs.x, n, w.wV, w.bV);
  const phi = (x: number) => x > 0 ? x + 1 : Math.exp(x);
  const concat = new Float64Array(n * d);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const weights = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let c = h * dK; c < (h + 1) * dK; c++) {
          dot += kind === "softmax"
            ? q[i * d + c]! * k[j * d + c]!
            : phi(q[i * d + c]!) * phi(k[j * d + c]!);
        }
        const bias = allows(mask, window, i, j) ? 0 : -Infinity;
        weights[j] = kind === "softmax"
          ? Math.exp(dot / Math.sqrt(dK) + bias)
          : (bias === 0 ? dot : 0);
      }
      const total = weights.reduce((s, x) => s + x, 0);
      for (let c = h * dK; c < (h + 1) * dK; c++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += weights[j]! * v[j * d + c]!;
        concat[i * d + c] = sum / total;
      }
    }
  }
  return linearLayer(concat, n, w.wO, w.bO);
}

const MASKS: [MaskName, number][] = [["full", 0], ["causal", 0], ["sliding", 1], ["sliding", 3]];

Deno.test("attentionOracle() matches the −∞-masked brute force for every mask", () => {
  for (const [mask, window] of MASKS) {
    for (const seqLen of [1, 2, 7]) {
      const inputs = generateInputs({ seqLen, dModel: 12, heads: 3, mask, window }, 11 + seqLen);
      const error = relativeMaxError(attentionOracle(inputs), bruteForce(inputs, "softmax"));
      assert.ok(error < 1e-12, `${mask}:${window} n=${seqLen}: ${error}`);
    }
  }
});

Deno.test("attentionOracle() masks change the output (causal differs from full but row n−1 agrees)", () => {
  const n = 6, d = 8;
  const full = attentionOracle(generateInputs({ seqLen: n, dModel: d, heads: 2 }, 5));
  const causal = attentionOracle(
    generateInputs({ seqLen: n, dModel: d, heads: 2, mask: "causal" }, 5),
  );
  assert.ok(relativeMaxError(causal.subarray(0, d), full.subarray(0, d)) > 1e-3);
  // the last query sees every key under both masks
  assert.ok(relativeMaxError(causal.subarray((n - 1) * d), full.subarray((n - 1) * d)) < 1e-12);
});

Deno.test("attentionOracle() linear attention matches the direct O(n²) sum (full and causal)", () => {
  for (const mask of ["full", "causal"] as const) {
    for (const seqLen of [1, 2, 9]) {
      const shape = { seqLen, dModel: 12, heads: 2, mask, attention: "linear" as const };
      const inputs = generateInputs(shape, 21 + seqLen);
      const error = relativeMaxError(attentionOracle(inputs), bruteForce(inputs, "linear"));
      assert.ok(error < 1e-12, `${mask} n=${seqLen}: ${error}`);
    }
  }
});

Deno.test("attentionOracle() refuses linear attention with a sliding mask", () => {
  const shape = {
    seqLen: 4,
    dModel: 8,
    heads: 2,
    mask: "sliding" as const,
    window: 2,
    attention: "linear" as const,
  };
  assert.throws(() => attentionOracle(generateInputs(shape, 1)), /full and causal/);
});

/** The multi-head inputs equal to grouped-query ones: each query head gets a copy of its kv head. */
function expandKv(inputs: AttentionInputs): AttentionInputs {
  const { dModel: d, heads, kvHeads = heads } = inputs.shape;
  const dK = d / heads, kvW = kvHeads * dK, group = heads / kvHeads;
  const expandMatrix = (m: Float32Array) => {
    const out = new Float32Array(d * d);
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < d; c++) {
        out[r * d + c] = m[r * kvW + Math.floor(c / dK / group) * dK + (c % dK)]!;
      }
    }
    return out;
  };
  const expandBias = (b: Float32Array) =>
    Float32Array.from({ length: d }, (_, c) => b[Math.floor(c / dK / group) * dK + (c % dK)]!);
  const w = inputs.weights;
  return {
    shape: { ...inputs.shape, kvHeads: heads },
    x: inputs.x,
    weights: {
      ...w,
      wK: expandMatrix(w.wK),
      bK: expandBias(w.bK),
      wV: expandMatrix(w.wV),
      bV: expandBias(w.bV),
    },
  };
}

Deno.test("attentionOracle() grouped-query attention equals multi-head attention with shared kv heads", () => {
  for (const kvHeads of [1, 2, 4]) {
    for (const [mask, window] of MASKS) {
      const shape = { seqLen: 5, dModel: 16, heads: 4, kvHeads, mask, window, batch: 2 };
      const inputs = generateInputs(shape, 3 + kvHeads);
      assert.equal(inputs.weights.wK.length, 16 * kvHeads * 4);
      const error = relativeMaxError(attentionOracle(inputs), attentionOracle(expandKv(inputs)));
      assert.ok(error < 1e-14, `kvHeads ${kvHeads} ${mask}: ${error}`);
    }
  }
  // kvHeads = heads is the seed's multi-head configuration, byte for byte
  const mha = attentionOracle(generateInputs({ seqLen: 5, dModel: 16, heads: 4 }, 9));
  const gqa = attentionOracle(generateInputs({ seqLen: 5, dModel: 16, heads: 4, kvHeads: 4 }, 9));
  assert.deepEqual(gqa, mha);
});

Deno.test("attentionOracle() batch 3 equals three batch-1 runs", () => {
  for (const attention of ["softmax", "linear"] as const) {
    for (const [mask, window] of attention === "linear" ? MASKS.slice(0, 2) : MASKS) {
      const shape = { seqLen: 4, dModel: 8, heads: 2, kvHeads: 1, mask, window, attention };
      const inputs = generateInputs({ ...shape, batch: 3 }, 17);
      const batched = attentionOracle(inputs);
      for (let b = 0; b < 3; b++) {
        const x = inputs.x.slice(b * 32, (b + 1) * 32);
        const single = attentionOracle({ shape, x, weights: inputs.weights });
        assert.deepEqual(
          batched.subarray(b * 32, (b + 1) * 32),
          single,
          `${attention} ${mask} b=${b}`,
        );
      }
    }
  }
});
