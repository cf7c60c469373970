// scores: s = q_h · k_hᵀ / √d_k for the heads and query rows of one score window.
//
// The naive variant materialises every head's n×n score matrix. It rarely fits one binding
// (128 MiB on lavapipe; 2.98 GiB at n = 10000 × 8 heads), so the host splits it into windows:
// either several whole heads, or a range of query rows of one head, each a buffer of its own.
// A window holds `window_heads` × `window_rows` rows of `n_pad4` vec4 (n rounded up to 4); row
// (z, r) of the window is query first_row + r of head first_head + z. Padding columns (keys
// n…n_pad−1) get finite values that the softmax ignores.
//
// Each invocation owns 4·ROW_BLOCKS queries × 4·KEY_BLOCKS keys in mat4x4 accumulators (column r:
// query 4i+r's scores against four keys); one step along the head dimension loads one vec4 of
// each of its queries and keys and adds transpose(k_j) · q_i. Sizes: see projection.wgsl.
//
// Host-checked requirements: d_k % 4 == 0. Queries and keys past the end are clamped on load and
// never stored.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

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

/** Offsets (in vec4) of four consecutive rows of q or k at this head, clamped to row n − 1. */
fn row_offsets(first_row: u32, head_offset: u32) -> vec4<u32> {
  let rows = min(vec4<u32>(first_row) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
  return rows * params.d_model4 + vec4<u32>(head_offset);
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let head_offset = (params.first_head + wid.z) * params.head_dim4;
  let first_local_row = gid.x * 4u * ROW_BLOCKS;
  let first_query = params.first_row + first_local_row;
  let first_key = wid.y * 4u * KEY_BLOCKS;
  //#unroll i ROW_BLOCKS
  let q_rows_{i} = row_offsets(first_query + {i}u * 4u, head_offset);
  //#end
  //#unroll j KEY_BLOCKS
  let k_rows_{j} = row_offsets(first_key + {j}u * 4u, head_offset);
  //#end
  //#unroll i ROW_BLOCKS
  //#unroll j KEY_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var d4 = 0u; d4 < params.head_dim4; d4++) {
    //#unroll i ROW_BLOCKS
    let q_{i} = mat4x4<f32>(load_q(q_rows_{i}.x + d4), load_q(q_rows_{i}.y + d4), load_q(q_rows_{i}.z + d4), load_q(q_rows_{i}.w + d4));
    //#end
    //#unroll j KEY_BLOCKS
    let k_{j} = transpose(mat4x4<f32>(load_k(k_rows_{j}.x + d4), load_k(k_rows_{j}.y + d4), load_k(k_rows_{j}.z + d4), load_k(k_rows_{j}.w + d4)));
    //#unroll i ROW_BLOCKS
    acc_{i}_{j} += k_{j} * q_{i};
    //#end
    //#end
  }
  //#unroll i ROW_BLOCKS
  //#unroll j KEY_BLOCKS
  store_block(wid.z, first_local_row + {i}u * 4u, first_key / 4u + {j}u, acc_{i}_{j});
  //#end
  //#end
}
