// score_window: the uniform parameters and addressing shared by the naive variant's scores,
// softmax and weighted-values kernels, which all work on one score window.
//
// The naive variant stores, per (sequence b, head h) pair — a *slab*, numbered b·heads + h — one
// score row per query. A row holds `row_vecs` vec4 of keys starting at key 4·⌊key_start(query)/4⌋:
// the whole row (n rounded up to 4) for full and causal, only the band of the sliding window
// (⌊(W + 2)/4⌋ + 1 vec4 cover any W consecutive keys) for sliding:W. The scores kernel may leave
// elements outside the query's key range unwritten (it skips blocks the mask hides); the softmax
// then defines every stored element — the probabilities in the range, 0 elsewhere (the naive
// backward reads whole rows of P) — and P·V reads only the vec4 a row stores.
//
// The scores rarely fit one binding (128 MiB on lavapipe; 2.98 GiB at n = 10000 × 8 heads), so the
// host splits them into windows, each a buffer of its own: either several whole slabs, or a range
// of query rows of one slab. Row (z, r) of a window is query first_row + r of slab first_slab + z.
//
// Rows of q and of the concatenated heads are [batch·n, d_model]; of k and v [batch·n, kv_heads·d_k];
// query head h reads kv head ⌊h / group⌋ (grouped-query attention; group = heads / kv_heads).
//
// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before the module: storage holds Stored, arithmetic is f32.
//#include mask.wgsl

override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  n: u32,
  ahead: u32,
  behind: u32,
  /** vec4 stored per score row */
  row_vecs: u32,
  /** row stride of q and concat, in vec4 */
  d_model4: u32,
  /** row stride of k and v, in vec4 */
  kv_model4: u32,
  head_dim4: u32,
  heads: u32,
  /** query heads per kv head */
  group: u32,
  first_slab: u32,
  first_row: u32,
  window_rows: u32,
  window_slabs: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;

/** Offset (in vec4) of slab `slab`'s query row `query` (clamped to n − 1) in q or concat. */
fn query_offset(slab: u32, query: u32) -> u32 {
  let sequence = slab / params.heads;
  let head = slab % params.heads;
  let row = sequence * params.n + min(query, params.n - 1u);
  return row * params.d_model4 + head * params.head_dim4;
}

/** Offset (in vec4) of slab `slab`'s key row `key` (clamped to n − 1) in k or v. */
fn key_offset(slab: u32, key: u32) -> u32 {
  let sequence = slab / params.heads;
  let kv_head = (slab % params.heads) / params.group;
  let row = sequence * params.n + min(key, params.n - 1u);
  return row * params.kv_model4 + kv_head * params.head_dim4;
}

/** The first vec4 of keys that query `query`'s stored row holds. */
fn first_stored_vec(query: u32) -> u32 {
  return key_start(query) / 4u;
}

/**
 * Index (in vec4) in the window of row (z, local_row)'s key vec4 `key_vec`, clamped into the
 * stored row: a key_vec outside it reads a stored value that its mask then discards.
 */
fn score_index(z: u32, local_row: u32, key_vec: u32) -> u32 {
  let first = first_stored_vec(params.first_row + local_row);
  let slot = min(max(key_vec, first) - first, params.row_vecs - 1u);
  return (z * params.window_rows + local_row) * params.row_vecs + slot;
}

/** Whether row (z, local_row) stores key vec4 `key_vec`. */
fn stores_vec(local_row: u32, key_vec: u32) -> bool {
  let first = first_stored_vec(params.first_row + local_row);
  return local_row < params.window_rows && key_vec >= first && key_vec - first < params.row_vecs;
}
