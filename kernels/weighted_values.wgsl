// weighted_values: o_h = p_h · v_h for the heads and query rows of one probability window, written
// into the head's columns of the concatenated output [n, d_model].
//
// Same register blocking as projection.wgsl: each invocation owns 4·ROW_BLOCKS query rows ×
// 4·COL_BLOCKS columns of the head; one step along the keys loads four probabilities of each of
// its rows (one vec4: rows are n_pad4 vec4 long, padding probabilities are 0) and four rows of v
// (keys clamped to n − 1, so padding multiplies a finite value by 0).
//
// Host-checked requirements: d_k % 4 == 0.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;

struct Params {
  n: u32,
  n_pad4: u32,
  d_model4: u32,
  head_dim4: u32,
  first_head: u32,
  first_row: u32,
  window_rows: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> concat: array<vec4<Stored>>;

fn load_probs(index: u32) -> vec4<f32> {
  return vec4<f32>(probs[index]);
}

fn load_v(index: u32) -> vec4<f32> {
  return vec4<f32>(v[index]);
}

/** Offsets (in vec4) of four consecutive rows of the window, clamped to its last row. */
fn prob_offsets(window_head: u32, first_local_row: u32) -> vec4<u32> {
  let local_rows = min(
    vec4<u32>(first_local_row) + vec4<u32>(0u, 1u, 2u, 3u),
    vec4<u32>(params.window_rows - 1u),
  );
  return (vec4<u32>(window_head * params.window_rows) + local_rows) * params.n_pad4;
}

fn store_block(first_local_row: u32, head_col: u32, head_offset: u32, block: mat4x4<f32>) {
  if (head_col >= params.head_dim4) {
    return;
  }
  for (var r = 0u; r < 4u; r++) {
    let local_row = first_local_row + r;
    if (local_row < params.window_rows) {
      concat[(params.first_row + local_row) * params.d_model4 + head_offset + head_col] =
        vec4<Stored>(block[r]);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let head_offset = (params.first_head + wid.z) * params.head_dim4;
  let first_local_row = gid.x * 4u * ROW_BLOCKS;
  let first_col = wid.y * COL_BLOCKS; // in vec4 columns of the head
  let last_key = vec4<u32>(params.n - 1u);
  //#unroll i ROW_BLOCKS
  let rows_{i} = prob_offsets(wid.z, first_local_row + {i}u * 4u);
  //#end
  //#unroll j COL_BLOCKS
  let col_{j} = head_offset + min(first_col + {j}u, params.head_dim4 - 1u);
  //#end
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var j4 = 0u; j4 < params.n_pad4; j4++) {
    //#unroll i ROW_BLOCKS
    let p_{i} = mat4x4<f32>(load_probs(rows_{i}.x + j4), load_probs(rows_{i}.y + j4), load_probs(rows_{i}.z + j4), load_probs(rows_{i}.w + j4));
    //#end
    let keys = min(vec4<u32>(4u * j4) + vec4<u32>(0u, 1u, 2u, 3u), last_key) * params.d_model4;
    //#unroll j COL_BLOCKS
    let v_{j} = mat4x4<f32>(load_v(keys.x + col_{j}), load_v(keys.y + col_{j}), load_v(keys.z + col_{j}), load_v(keys.w + col_{j}));
    //#unroll i ROW_BLOCKS
    acc_{i}_{j} += v_{j} * p_{i};
    //#end
    //#end
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block(first_local_row + {i}u * 4u, first_col + {j}u, head_offset, acc_{i}_{j});
  //#end
  //#end
}
