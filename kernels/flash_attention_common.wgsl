// flash_attention, common part of both layouts (included by flash_attention.wgsl and
// flash_attention_tiled.wgsl): softmax(q_h · k_gᵀ / √d_k) · v_g for every head and sequence in one
// pass over the keys, with an online softmax (running max and sum per query, rescaled as the max
// grows), so the n×n scores never exist: memory stays O(n). Output goes into the head's columns of
// concat [batch·n, d_model], and each query's log-sum-exp m + log l into lse (O(n): what the
// backward needs to recompute P without the scores). Grid: x = query blocks, y = heads, z = sequences of the batch; query
// head h reads kv head ⌊h / group⌋ (grouped-query attention).
//
// Each invocation owns 4·QUERY_BLOCKS queries of one head. Their (pre-scaled) q rows and output
// accumulators stay in registers for the whole pass: HEAD_BLOCKS = d_k / 4 mat4x4 each per block
// of four queries, column r holding query 4i+r. A step (flash_step.wgsl) takes 4·KEY_BLOCKS keys:
// scores s_i_j = transpose(k_j,d) · q_i,d summed over d (column r: query r against four keys), the
// mask, then the online softmax update, then o_i,d = o_i,d · diag(α_i) + v_j,d · p_i_j. The
// layouts differ only in where a step's keys and values come from.
//
// The key loop runs only over the keys the owned queries see (mask.wgsl): key blocks wholly above
// the diagonal (causal) or outside the band (sliding) are never visited, so causal does about half
// the work of full and sliding:W O(n·W). Within the visited blocks each score is masked per query.
//
// Host-checked requirements: HEAD_BLOCKS == d_k / 4 (the module is built per head width).
// Queries past n are clamped on load and never stored; keys past n are masked to probability 0.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this module: storage holds Stored, arithmetic is f32.
//#include mask.wgsl
override WORKGROUP_SIZE: u32 = 8u;
const QUERY_BLOCKS: u32 = {{QUERY_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;
const HEAD_BLOCKS: u32 = {{HEAD_BLOCKS}}u;
/** A score below any real one: masked keys and the running max before the first key. */
const LOWEST: f32 = -3.0e38;

struct Params {
  n: u32,
  ahead: u32,
  behind: u32,
  /** row stride of q and concat, in vec4 */
  d_model4: u32,
  /** row stride of k and v, in vec4 */
  kv_model4: u32,
  /** query heads per kv head */
  group: u32,
  scale: f32,
  /** query heads: the stride of lse's (sequence, head) rows */
  heads: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read_write> concat: array<vec4<Stored>>;
/** f32 [batch, heads, n]: each query's log-sum-exp of its scaled scores, for the backward */
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

/** Rows first_row … first_row+3 of the sequence, clamped to n − 1. */
fn clamped_rows(first_row: u32) -> vec4<u32> {
  return min(four_keys(first_row), vec4<u32>(params.n - 1u));
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

/** exp(s − m) per column (query), 0 where the score is masked (LOWEST). */
fn probabilities(s: mat4x4<f32>, m: vec4<f32>) -> mat4x4<f32> {
  let zero = vec4<f32>(0.0);
  let lowest = vec4<f32>(LOWEST);
  return mat4x4<f32>(
    select(zero, exp(s[0] - m.x), s[0] > lowest),
    select(zero, exp(s[1] - m.y), s[1] > lowest),
    select(zero, exp(s[2] - m.z), s[2] > lowest),
    select(zero, exp(s[3] - m.w), s[3] > lowest),
  );
}

/**
 * Scores of keys that queries first_query … +3 do not see (masked, or past n) become LOWEST, so
 * they never set the max and get probability 0.
 */
fn mask_scores(s: mat4x4<f32>, first_query: u32, keys: vec4<u32>) -> mat4x4<f32> {
  let lowest = vec4<f32>(LOWEST);
  return mat4x4<f32>(
    select(lowest, s[0], key_mask(first_query, keys)),
    select(lowest, s[1], key_mask(first_query + 1u, keys)),
    select(lowest, s[2], key_mask(first_query + 2u, keys)),
    select(lowest, s[3], key_mask(first_query + 3u, keys)),
  );
}

/** Column r times alpha[r]: rescales each query's accumulator. */
fn scale_columns(o: mat4x4<f32>, alpha: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(o[0] * alpha.x, o[1] * alpha.y, o[2] * alpha.z, o[3] * alpha.w);
}

/** The log-sum-exp m + log l of queries first_query … +3 (those below n) of head `head`. */
fn store_lse(sequence: u32, head: u32, first_query: u32, m: vec4<f32>, l: vec4<f32>) {
  let row = (sequence * params.heads + head) * params.n;
  let values = m + log(l);
  for (var r = 0u; r < 4u; r++) {
    if (first_query + r < params.n) {
      lse[row + first_query + r] = values[r];
    }
  }
}

fn store_block(sequence_row: u32, first_query: u32, col: u32, o: mat4x4<f32>, inverse_sum: vec4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    let query = first_query + r;
    if (query < params.n) {
      concat[(sequence_row + query) * params.d_model4 + col] = vec4<Stored>(o[r] * inverse_sum[r]);
    }
  }
}
