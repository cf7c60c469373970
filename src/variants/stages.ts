/**
 * Every stage a variant can run, as data: its name, label, colour, work (MACs and FLOPs) and the
 * least bytes it must move, for any configuration. Variants list stages by name
 * (src/variants/registry.ts); the figures, the report, the data files and the roofline read them
 * from here. A low module: nothing of the GPU is imported.
 *
 * Work conventions (README.md, "What is measured"), per configuration — B batch, n length,
 * d d_model, h heads, d_k
 * head width, kv = kv_heads·d_k, S the scores each head keeps per sequence (`unmaskedScores`: n²
 * full, n(n+1)/2 causal, the band for sliding:W):
 * - MACs: Q|K|V projection B·n·d·(d + 2·kv); Q·Kᵀ B·h·S·d_k; A·V B·h·S·d_k; output projection
 *   B·n·d².
 * - FLOPs = 2 · MACs (a multiply and an add per MAC), plus the elementwise work the MACs miss:
 *   the 1/√d_k scale (1 FLOP per score) and the softmax (5 FLOPs per score: max, subtract, exp,
 *   sum, divide — exp counted as one). Bias additions (< 0.1 %) are not counted.
 *
 * @module
 */

import { type AttentionShape, resolveShape, unmaskedScores } from "../shape.ts";
import { linearChunks, linearIntraChunkPairs } from "./linear_chunks.ts";

/** FLOPs per score of the softmax: max, subtract, exp, sum, divide. */
export const SOFTMAX_FLOPS_PER_SCORE = 5;

/** FLOPs per score of the 1/√d_k scale. */
export const SCALE_FLOPS_PER_SCORE = 1;

/** Work of one stage at one length. */
export interface StageWork {
  macs: number;
  flops: number;
}

/** One stage: what it computes and what it costs. */
export interface StageSpec {
  name: string;
  /** human name, in figures and tables */
  label: string;
  /** colour in the FLOPs panel and the kernel breakdown (Paul Tol's muted palette) */
  color: string;
  /** the seed stages whose work this stage does (a fused stage does several) */
  covers: readonly string[];
  work(shape: AttentionShape): StageWork;
  /** least bytes read + written: every input read once, every output written once */
  leastBytes(shape: AttentionShape, elementBytes: number): number;
}

/** The sizes the formulas use. */
function sizes(shape: AttentionShape) {
  const s = resolveShape(shape);
  const dK = s.dModel / s.heads;
  return {
    b: s.batch,
    n: s.seqLen,
    d: s.dModel,
    h: s.heads,
    dK,
    kv: s.kvHeads * dK,
    /** scores of every head of every sequence */
    scores: s.batch * s.heads * unmaskedScores(shape),
  };
}

/** A stage whose work is one matrix product plus `extraFlops`. */
function matmulWork(macs: number, extraFlops = 0): StageWork {
  return { macs, flops: 2 * macs + extraFlops }; // 2 FLOPs per multiply-accumulate
}

const projectionQkv: StageSpec = {
  name: "projection_qkv",
  label: "Q/K/V projection",
  color: "#88ccee",
  covers: ["projection_qkv"],
  work(shape) {
    const { b, n, d, kv } = sizes(shape);
    return matmulWork(b * n * d * (d + 2 * kv));
  },
  leastBytes(shape, e) { // x, [w_q|w_k|w_v], biases in; q, k, v out
    const { b, n, d, kv } = sizes(shape);
    return e * (b * n * d + d * (d + 2 * kv) + (d + 2 * kv) + b * n * (d + 2 * kv));
  },
};

const scores: StageSpec = {
  name: "scores",
  label: "scores Q·Kᵀ (+ scale)",
  color: "#cc6677",
  covers: ["scores"],
  work(shape) {
    const { dK, scores } = sizes(shape);
    return matmulWork(scores * dK, SCALE_FLOPS_PER_SCORE * scores);
  },
  leastBytes(shape, e) { // q, k in; scores out
    const { b, n, d, kv, scores } = sizes(shape);
    return e * (b * n * (d + kv) + scores);
  },
};

const softmax: StageSpec = {
  name: "softmax",
  label: "softmax",
  color: "#ddcc77",
  covers: ["softmax"],
  work(shape) {
    return { macs: 0, flops: SOFTMAX_FLOPS_PER_SCORE * sizes(shape).scores };
  },
  leastBytes(shape, e) { // scores in and out
    return e * 2 * sizes(shape).scores;
  },
};

const weightedValues: StageSpec = {
  name: "weighted_values",
  label: "weighted values A·V",
  color: "#aa4499",
  covers: ["weighted_values"],
  work(shape) {
    const { dK, scores } = sizes(shape);
    return matmulWork(scores * dK);
  },
  leastBytes(shape, e) { // probabilities, v in; heads out
    const { b, n, d, kv, scores } = sizes(shape);
    return e * (scores + b * n * (kv + d));
  },
};

const flashAttention: StageSpec = {
  name: "flash_attention",
  label: "flash attention (fused)",
  color: "#44aa99",
  covers: ["scores", "softmax", "weighted_values"],
  work(shape) {
    const parts = [scores, softmax, weightedValues].map((stage) => stage.work(shape));
    return {
      macs: parts.reduce((sum, part) => sum + part.macs, 0),
      flops: parts.reduce((sum, part) => sum + part.flops, 0),
    };
  },
  leastBytes(shape, e) { // q, k, v in; heads and each row's log-sum-exp (f32) out
    const { b, n, d, h, kv } = sizes(shape);
    return e * b * n * (2 * d + 2 * kv) + 4 * b * h * n;
  },
};

const outputProjection: StageSpec = {
  name: "output_projection",
  label: "output projection",
  color: "#332288",
  covers: ["output_projection"],
  work(shape) {
    const { b, n, d } = sizes(shape);
    return matmulWork(b * n * d * d);
  },
  leastBytes(shape, e) { // heads, w_o, bias in; out
    const { b, n, d } = sizes(shape);
    return e * (2 * b * n * d + d * d + d);
  },
};

/** Floats of one linear-attention state: S (d_k × d_k) and z (d_k). */
function linearStateFloats(shape: AttentionShape): number {
  const { dK } = sizes(shape);
  return dK * dK + dK;
}

/** States of a forward: one per chunk of each kv head of each sequence. */
function linearStates(shape: AttentionShape): number {
  const { b } = sizes(shape);
  return b * resolveShape(shape).kvHeads * linearChunks(shape).chunks;
}

// linear attention (Katharopoulos et al., 2020), φ(x) = elu(x) + 1: 1 FLOP per element
const linearState: StageSpec = {
  name: "linear_state",
  label: "linear attention: S = Σ φ(k)vᵀ, z = Σ φ(k)",
  color: "#999933",
  covers: ["linear_state"],
  work(shape) { // every key once into its kv head's S and z; φ(k) once per element
    const { b, n, kv, dK } = sizes(shape);
    const macs = b * n * kv * (dK + 1);
    return { macs, flops: 2 * macs + b * n * kv };
  },
  leastBytes(shape, e) { // k, v in; f32 states out
    const { b, n, kv } = sizes(shape);
    return e * 2 * b * n * kv + 4 * linearStates(shape) * linearStateFloats(shape);
  },
};

const linearPrefix: StageSpec = {
  name: "linear_prefix",
  label: "linear attention: sum (full) or prefix sums (causal) of chunk states",
  color: "#117733",
  covers: ["linear_prefix"],
  work(shape) { // one addition per state float
    return { macs: 0, flops: linearStates(shape) * linearStateFloats(shape) };
  },
  leastBytes(shape) { // states in and out, f32
    return 2 * 4 * linearStates(shape) * linearStateFloats(shape);
  },
};

const linearOutput: StageSpec = {
  name: "linear_output",
  label: "linear attention: φ(q)ᵀS / φ(q)ᵀz",
  color: "#882255",
  covers: ["linear_output"],
  work(shape) {
    const { b, n, h, dK } = sizes(shape);
    // per query and head: φ(q)ᵀS (d_k² MACs) and φ(q)ᵀz (d_k); causal: per key of the own chunk
    // up to the query, φ(q)·φ(k) (d_k) and the weighted value and denominator (d_k + 1)
    const pairs = b * h * linearIntraChunkPairs(shape);
    const macs = b * n * h * (dK * dK + dK) + pairs * (2 * dK + 1);
    // φ(q) (1 per element) and the division (1 per output element)
    return { macs, flops: 2 * macs + 2 * b * n * h * dK };
  },
  leastBytes(shape, e) { // q (and k, v when causal), f32 states in; heads out
    const { b, n, d, kv } = sizes(shape);
    const causal = resolveShape(shape).mask === "causal";
    return e * (2 * b * n * d + (causal ? 2 * b * n * kv : 0)) +
      4 * linearStates(shape) * linearStateFloats(shape);
  },
};

/*
 * The backward's stages (issue 11), of L = Σ(out ⊙ dOut): the gradient of every weight and bias
 * and of x. MACs exact per stage, the fused backward's recomputation included; FlashAttention's
 * convention (attention backward = 2.5 × attention forward) is {@link flashConventionFlops}.
 */

/** FLOPs per score of the fused backward beyond its MACs: scale, exp(s − lse), dP − D, × P. */
export const BACKWARD_FLOPS_PER_SCORE = 5;

const outputProjectionBackward: StageSpec = {
  name: "output_projection_backward",
  label: "output projection backward (dConcat, dW_o, db_o)",
  color: "#77aadd",
  covers: ["output_projection_backward"],
  work(shape) { // dConcat = dOut·w_oᵀ and dW_o = concatᵀ·dOut: B·n·d² MACs each; db_o B·n·d adds
    const { b, n, d } = sizes(shape);
    return matmulWork(2 * b * n * d * d, b * n * d);
  },
  leastBytes(shape, e) { // dOut, w_o, concat in; dConcat, dW_o, db_o out
    const { b, n, d } = sizes(shape);
    return e * (3 * b * n * d + 2 * d * d + d);
  },
};

const backwardRowDot: StageSpec = {
  name: "backward_row_dot",
  label: "backward D = rowsum(dO ⊙ O)",
  color: "#bbcc33",
  covers: ["backward_row_dot"],
  work(shape) { // one multiply-add per element of dO
    const { b, n, d } = sizes(shape);
    return matmulWork(b * n * d);
  },
  leastBytes(shape, e) { // dO, O in; D (f32) out
    const { b, n, d, h } = sizes(shape);
    return e * 2 * b * n * d + 4 * b * h * n;
  },
};

const flashBackwardKv: StageSpec = {
  name: "flash_backward_kv",
  label: "backward dK, dV (fused, recomputes P)",
  color: "#ee8866",
  covers: ["flash_backward_kv"],
  work(shape) { // per kept score: s = q·k, dP = dO·v, dV += P·dO, dK += dS·q (d_k MACs each)
    const { dK, scores } = sizes(shape);
    return matmulWork(4 * scores * dK, BACKWARD_FLOPS_PER_SCORE * scores);
  },
  leastBytes(shape, e) { // q, dO, k, v in (lse, D f32); dK, dV out
    const { b, n, d, h, kv } = sizes(shape);
    return e * b * n * (2 * d + 4 * kv) + 8 * b * h * n;
  },
};

const flashBackwardQ: StageSpec = {
  name: "flash_backward_q",
  label: "backward dQ (fused, recomputes P)",
  color: "#ffaabb",
  covers: ["flash_backward_q"],
  work(shape) { // per kept score: s = q·k, dP = dO·v, dQ += dS·k (d_k MACs each); dQ scaled once
    const { b, n, d, dK, scores } = sizes(shape);
    return matmulWork(3 * scores * dK, BACKWARD_FLOPS_PER_SCORE * scores + b * n * d);
  },
  leastBytes(shape, e) { // q, dO, k, v in (lse, D f32); dQ out
    const { b, n, d, h, kv } = sizes(shape);
    return e * b * n * (3 * d + 2 * kv) + 8 * b * h * n;
  },
};

const projectionQkvBackward: StageSpec = {
  name: "projection_qkv_backward",
  label: "Q/K/V projection backward (dx, dW, db)",
  color: "#aaaa00",
  covers: ["projection_qkv_backward"],
  work(shape) { // dx = dQKV·[w_q|w_k|w_v]ᵀ and dW = xᵀ·dQKV: B·n·d·(d + 2·kv) MACs each; db adds
    const { b, n, d, kv } = sizes(shape);
    return matmulWork(2 * b * n * d * (d + 2 * kv), b * n * (d + 2 * kv));
  },
  leastBytes(shape, e) { // dQKV, x, weights in; dx, dW, db out
    const { b, n, d, kv } = sizes(shape);
    return e * (b * n * (d + 2 * kv) + 2 * b * n * d + 2 * d * (d + 2 * kv) + d + 2 * kv);
  },
};

/** Every score of every head and sequence, masked or not: what the naive backward's kernels visit. */
function allScores(shape: AttentionShape): number {
  const { b, n, h } = sizes(shape);
  return b * h * n * n;
}

const naiveBackwardDs: StageSpec = {
  name: "naive_backward_ds",
  label: "backward dS = P ⊙ (dO·Vᵀ − D) (naive, on the stored P)",
  color: "#994455",
  covers: ["naive_backward_ds"],
  work(shape) { // per score: dP = dO·v (d_k MACs), then subtract D, times P, scale
    const { dK } = sizes(shape);
    return matmulWork(allScores(shape) * dK, 3 * allScores(shape));
  },
  leastBytes(shape, e) { // P, dO, v in (D f32); dS out
    const { b, n, d, h, kv } = sizes(shape);
    return e * (2 * allScores(shape) + b * n * (d + kv)) + 4 * b * h * n;
  },
};

const naiveBackwardDq: StageSpec = {
  name: "naive_backward_dq",
  label: "backward dQ = dS·K (naive)",
  color: "#ee99aa",
  covers: ["naive_backward_dq"],
  work(shape) {
    return matmulWork(allScores(shape) * sizes(shape).dK);
  },
  leastBytes(shape, e) { // dS, k in; dQ out
    const { b, n, d, kv } = sizes(shape);
    return e * (allScores(shape) + b * n * (kv + d));
  },
};

const naiveBackwardDkDv: StageSpec = {
  name: "naive_backward_dkdv",
  label: "backward dK = dSᵀ·Q, dV = Pᵀ·dO (naive)",
  color: "#cc3311",
  covers: ["naive_backward_dkdv"],
  work(shape) {
    return matmulWork(2 * allScores(shape) * sizes(shape).dK);
  },
  leastBytes(shape, e) { // P, dS, q, dO in; dK, dV out
    const { b, n, d, kv } = sizes(shape);
    return e * (2 * allScores(shape) + b * n * (2 * d + 2 * kv));
  },
};

/** Every backward stage of every variant, in pipeline order. */
export const BACKWARD_STAGES: readonly StageSpec[] = [
  outputProjectionBackward,
  backwardRowDot,
  flashBackwardKv,
  flashBackwardQ,
  naiveBackwardDs,
  naiveBackwardDq,
  naiveBackwardDkDv,
  projectionQkvBackward,
];

/**
 * FlashAttention's FLOPs convention for the attention part (no projections), as its benchmarks
 * count: forward 4·B·h·n²·d_k (halved when causal), backward 2.5 × forward, forward + backward
 * 3.5 × forward. Sliding windows are counted by their kept scores, as causal is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.ok(flashConventionFlops({ seqLen: 2, dModel: 4, heads: 1 }).backward === 2.5 * 64);
 * ```
 */
export function flashConventionFlops(
  shape: AttentionShape,
): { forward: number; backward: number; forwardBackward: number } {
  const s = resolveShape(shape), dK = s.dModel / s.heads;
  const kept = s.mask === "full" ? 1 : unmaskedScores(shape) / (s.seqLen * s.seqLen);
  // causal keeps n(n+1)/2 scores: FlashAttention's benchmarks round that to n²/2
  const fraction = s.mask === "causal" ? 0.5 : kept;
  const forward = 4 * s.batch * s.heads * s.seqLen * s.seqLen * dK * fraction;
  return { forward, backward: 2.5 * forward, forwardBackward: 3.5 * forward };
}

/** Every stage, in pipeline order (the order of figures and tables): the forward's, then the backward's. */
export const STAGES: readonly StageSpec[] = [
  projectionQkv,
  scores,
  softmax,
  weightedValues,
  flashAttention,
  linearState,
  linearPrefix,
  linearOutput,
  outputProjection,
  ...BACKWARD_STAGES,
];

/**
 * The seed's stages, whose work the FLOPs table (`flops_<stage>` in the data files) counts: the
 * CPU path and the naive GPU variant run exactly these.
 */
export const SEED_STAGE_NAMES = [
  "projection_qkv",
  "scores",
  "softmax",
  "weighted_values",
  "output_projection",
] as const;

const STAGES_BY_NAME: ReadonlyMap<string, StageSpec> = new Map(STAGES.map((s) => [s.name, s]));

/** The stage of that name, or undefined (a stage of a newer file). */
export function stageSpec(name: string): StageSpec | undefined {
  return STAGES_BY_NAME.get(name);
}
