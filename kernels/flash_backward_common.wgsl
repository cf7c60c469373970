// flash_backward, common part of its three kernels (put before flash_backward_row_dot.wgsl,
// flash_backward_kv.wgsl or flash_backward_q.wgsl): the backward of softmax attention
// FlashAttention-2 style. P is never stored: each kernel recomputes it block by block from q, k
// and the log-sum-exp per row that the fused forward wrote (lse = max + log Σ exp, of the scaled
// scores; kernels/flash_epilogue.wgsl), so memory stays O(n).
//
//   row_dot: D_i = rowsum(dO_i ⊙ O_i) per query row and head;
//   kv:      per block of keys of one kv head, walking the query blocks of every query head that
//            reads it: dV += Pᵀ·dO, dK += dSᵀ·Q/√d_k, with dS = P ⊙ (dP − D), dP = dO·Vᵀ;
//   q:       per block of queries of one head, walking the key blocks: dQ += dS·K/√d_k.
//
// WGSL has no floating-point atomics, hence two kernels: each output element has one writer.
// Gradients go into one buffer `grads` [batch·n, grad_width] holding dQ (columns 0 … d_model − 1),
// dK (d_model …) and dV (d_model + kv_width …) side by side, so the input projections' backward
// reads them as one matrix. Register blocks are mat4x4 as in flash_attention: a matrix's column is
// one row (query or key) of four values.
//
// Host-checked requirements: HEAD_BLOCKS == d_k / 4. Rows past n are clamped on load and never
// stored; scores of keys a query does not see (past n, or masked) give probability 0.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
//#include mask.wgsl
override WORKGROUP_SIZE: u32 = 8u;
const HEAD_BLOCKS: u32 = {{HEAD_BLOCKS}}u;

struct Params {
  n: u32,
  heads: u32,
  /** query heads per kv head */
  group: u32,
  d_model4: u32,
  kv_width4: u32,
  grad_width4: u32,
  scale: f32,
  /** the mask's bounds (mask.wgsl): key < query + ahead, key > query − behind */
  ahead: u32,
  behind: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read> o: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read> d_o: array<vec4<Stored>>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> row_dot: array<f32>;
@group(0) @binding(8) var<storage, read_write> grads: array<vec4<Stored>>;

/** Rows first_row … first_row+3, clamped to n − 1. */
fn clamped_rows(first_row: u32) -> vec4<u32> {
  return min(vec4<u32>(first_row) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
}

/** Which of four keys query `query` sees: the query exists and the mask keeps the key. */
fn visible(query: u32, keys: vec4<u32>) -> vec4<bool> {
  return key_mask(query, keys) & vec4<bool>(query < params.n);
}

/** Four vec4 of a storage array at `offsets`, as the columns of a matrix. */
fn load_q(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(vec4<f32>(q[offsets.x]), vec4<f32>(q[offsets.y]), vec4<f32>(q[offsets.z]), vec4<f32>(q[offsets.w]));
}

fn load_k(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(vec4<f32>(k[offsets.x]), vec4<f32>(k[offsets.y]), vec4<f32>(k[offsets.z]), vec4<f32>(k[offsets.w]));
}

fn load_v(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(vec4<f32>(v[offsets.x]), vec4<f32>(v[offsets.y]), vec4<f32>(v[offsets.z]), vec4<f32>(v[offsets.w]));
}

fn load_d_o(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(vec4<f32>(d_o[offsets.x]), vec4<f32>(d_o[offsets.y]), vec4<f32>(d_o[offsets.z]), vec4<f32>(d_o[offsets.w]));
}

/** lse, or D, of four rows given as indices, as a vector. */
fn gather(values_at: vec4<u32>, of_lse: bool) -> vec4<f32> {
  if (of_lse) {
    return vec4<f32>(lse[values_at.x], lse[values_at.y], lse[values_at.z], lse[values_at.w]);
  }
  return vec4<f32>(row_dot[values_at.x], row_dot[values_at.y], row_dot[values_at.z], row_dot[values_at.w]);
}

/**
 * P and dS of four queries (columns, first_query …) against four keys (rows), from the scores
 * s = K·Qᵀ (already scaled) and dP = V·dOᵀ: P = exp(s − lse), 0 where the query does not see the
 * key; dS = P ⊙ (dP − D).
 */
struct Probabilities {
  p: mat4x4<f32>,
  ds: mat4x4<f32>,
}

fn probabilities(
  s: mat4x4<f32>,
  dp: mat4x4<f32>,
  first_query: u32,
  keys: vec4<u32>,
  row_lse: vec4<f32>,
  row_d: vec4<f32>,
) -> Probabilities {
  let zero = vec4<f32>(0.0);
  //#unroll c 4
  let p{c} = select(zero, exp(s[{c}] - vec4<f32>(row_lse[{c}])), visible(first_query + {c}u, keys));
  //#end
  let p = mat4x4<f32>(p0, p1, p2, p3);
  let ds = mat4x4<f32>(p0 * (dp[0] - vec4<f32>(row_d.x)), p1 * (dp[1] - vec4<f32>(row_d.y)), p2 * (dp[2] - vec4<f32>(row_d.z)), p3 * (dp[3] - vec4<f32>(row_d.w)));
  return Probabilities(p, ds);
}
