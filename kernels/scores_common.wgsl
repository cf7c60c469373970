// scores, common part of both layouts (put before scores.wgsl or scores_tiled.wgsl):
// s = q_h · k_hᵀ / √d_k for the heads and query rows of one score window.
//
// The naive variant materialises every head's n×n score matrix. It rarely fits one binding
// (128 MiB on lavapipe; 2.98 GiB at n = 10000 × 8 heads), so the host splits it into windows:
// either several whole heads, or a range of query rows of one head, each a buffer of its own.
// A window holds `window_heads` × `window_rows` rows of `n_pad4` vec4 (n rounded up to 4); row
// (z, r) of the window is query first_row + r of head first_head + z. Padding columns (keys
// n…n_pad−1) get finite values that the softmax ignores. Blocks are mat4x4 accumulators (column
// r: query r's scores against four keys), each step along the head dimension adding
// transpose(k_j) · q_i.
//
// Host-checked requirements: d_k % 4 == 0. Queries and keys past the end are clamped on load and
// never stored.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  n: u32,
  n_pad4: u32,
  d_model4: u32,
  head_dim4: u32,
  first_head: u32,
  first_row: u32,
  window_rows: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> scores: array<vec4<Stored>>;

fn load_q(index: u32) -> vec4<f32> {
  return vec4<f32>(q[index]);
}

fn load_k(index: u32) -> vec4<f32> {
  return vec4<f32>(k[index]);
}

fn store_block(window_head: u32, first_local_row: u32, key_vec: u32, block: mat4x4<f32>) {
  if (key_vec >= params.n_pad4) {
    return;
  }
  for (var r = 0u; r < 4u; r++) {
    let local_row = first_local_row + r;
    if (local_row < params.window_rows) {
      let row = window_head * params.window_rows + local_row;
      scores[row * params.n_pad4 + key_vec] = vec4<Stored>(block[r] * params.scale);
    }
  }
}

