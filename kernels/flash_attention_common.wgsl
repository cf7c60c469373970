// flash_attention, common part of both layouts (put before flash_attention.wgsl or
// flash_attention_tiled.wgsl): softmax(q_h · k_hᵀ / √d_k) · v_h for every head in one pass over
// the keys, with an online softmax (running max and sum per query, rescaled as the max grows), so
// the n×n scores never exist: memory stays O(n). Output goes into the head's columns of concat
// [n, d_model].
//
// Each invocation owns 4·QUERY_BLOCKS queries of one head. Their (pre-scaled) q rows and output
// accumulators stay in registers for the whole pass: HEAD_BLOCKS = d_k / 4 mat4x4 each per block
// of four queries, column r holding query 4i+r. A step takes 4·KEY_BLOCKS keys: scores
// s_i_j = transpose(k_j,d) · q_i,d summed over d (column r: query r against four keys), then the
// online softmax update, then o_i,d = o_i,d · diag(α_i) + v_j,d · p_i_j. The layouts differ only
// in where a step's keys and values come from.
//
// Host-checked requirements: HEAD_BLOCKS == d_k / 4 (the module is built per head width).
// Queries past n are clamped on load and never stored; keys past n are masked to probability 0.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;
const QUERY_BLOCKS: u32 = {{QUERY_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;
const HEAD_BLOCKS: u32 = {{HEAD_BLOCKS}}u;
/** A score below any real one: masked keys and the running max before the first key. */
const LOWEST: f32 = -3.0e38;

struct Params {
  n: u32,
  d_model4: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read_write> concat: array<vec4<Stored>>;

/** Rows first_row … first_row+3, clamped to n − 1. */
fn clamped_rows(first_row: u32) -> vec4<u32> {
  return min(vec4<u32>(first_row) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
}

/** Four consecutive vec4 of rows `offsets` (in vec4), as the columns of a matrix. */
fn load_q(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(
    vec4<f32>(q[offsets.x]),
    vec4<f32>(q[offsets.y]),
    vec4<f32>(q[offsets.z]),
    vec4<f32>(q[offsets.w]),
  );
}

/** The largest entry of each column: per query, the max over four keys. */
fn column_max(s: mat4x4<f32>) -> vec4<f32> {
  return vec4<f32>(
    max(max(s[0].x, s[0].y), max(s[0].z, s[0].w)),
    max(max(s[1].x, s[1].y), max(s[1].z, s[1].w)),
    max(max(s[2].x, s[2].y), max(s[2].z, s[2].w)),
    max(max(s[3].x, s[3].y), max(s[3].z, s[3].w)),
  );
}

/** The sum of each column. */
fn column_sum(p: mat4x4<f32>) -> vec4<f32> {
  let ones = vec4<f32>(1.0);
  return vec4<f32>(dot(p[0], ones), dot(p[1], ones), dot(p[2], ones), dot(p[3], ones));
}

/** exp(s − m) per column (query), 0 where the key does not exist. */
fn probabilities(s: mat4x4<f32>, m: vec4<f32>, valid: vec4<bool>) -> mat4x4<f32> {
  let zero = vec4<f32>(0.0);
  return mat4x4<f32>(
    select(zero, exp(s[0] - m.x), valid),
    select(zero, exp(s[1] - m.y), valid),
    select(zero, exp(s[2] - m.z), valid),
    select(zero, exp(s[3] - m.w), valid),
  );
}

/** Scores of keys that do not exist become LOWEST, so they never set the max. */
fn mask_scores(s: mat4x4<f32>, valid: vec4<bool>) -> mat4x4<f32> {
  let lowest = vec4<f32>(LOWEST);
  return mat4x4<f32>(
    select(lowest, s[0], valid),
    select(lowest, s[1], valid),
    select(lowest, s[2], valid),
    select(lowest, s[3], valid),
  );
}

/** Column r times alpha[r]: rescales each query's accumulator. */
fn scale_columns(o: mat4x4<f32>, alpha: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(o[0] * alpha.x, o[1] * alpha.y, o[2] * alpha.z, o[3] * alpha.w);
}

fn store_block(first_query: u32, col: u32, o: mat4x4<f32>, inverse_sum: vec4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    let query = first_query + r;
    if (query < params.n) {
      concat[query * params.d_model4 + col] = vec4<Stored>(o[r] * inverse_sum[r]);
    }
  }
}

