// linear attention, common part of its three kernels, included by each (Katharopoulos et al., 2020): with
// φ(x) = elu(x) + 1 on q and k, out_i = φ(q_i)ᵀ·S / (φ(q_i)ᵀ·z), S = Σ_j φ(k_j)·v_jᵀ and
// z = Σ_j φ(k_j) over the keys the mask allows — all keys (full), or j ≤ i (causal). O(n·d_k²)
// work, O(n) memory; no score exists.
//
// Keys are cut into chunks of `chunk` keys. linear_state sums each chunk's S and z into a state
// slot; linear_prefix sums the slots into the first one (full mask), or turns them into exclusive
// prefix sums over the chunks (causal), and for the causal mask linear_output adds, for query i,
// the keys of its own chunk up to i one by one. A slot holds S as d_k rows of d_k/4 vec4 (row r: φ(k)_r · v) and then
// z as d_k/4 vec4; slots are laid out [batch, kv head, chunk]. States are f32 whatever the storage
// precision (they are sums over up to n keys).
//
// Rows of q and concat are `q_stride4` vec4 wide (d_model / 4), rows of k and v `kv_stride4`
// (kv_heads·d_k / 4); sequence b starts at row b·n. Query head h reads kv head h / group.
//
// Host-checked requirements: d_k % 4 == 0.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before the module: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  n: u32,
  q_stride4: u32,
  kv_stride4: u32,
  head_dim4: u32,
  group: u32,
  chunk: u32,
  chunks: u32,
  causal: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

/** elu(x) + 1, elementwise: x + 1 above 0, exp(x) below (positive everywhere). */
fn feature_map(x: vec4<f32>) -> vec4<f32> {
  return select(exp(x), x + vec4<f32>(1.0), x > vec4<f32>(0.0));
}

/** vec4 of one state slot: S has head_dim rows of head_dim4 vec4, then z's head_dim4 vec4. */
fn slot_vec4() -> u32 {
  return 4u * params.head_dim4 * params.head_dim4 + params.head_dim4;
}
