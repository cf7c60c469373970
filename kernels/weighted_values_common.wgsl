// weighted_values, common part of both layouts (put before weighted_values.wgsl or
// weighted_values_tiled.wgsl): o_h = p_h · v_h for the heads and query rows of one probability
// window, written into the head's columns of the concatenated output [n, d_model]. Rows of the
// window are n_pad4 vec4 long, padding probabilities are 0; keys are clamped to n − 1, so padding
// multiplies a finite value by 0. Blocks are mat4x4 accumulators, as in projection_common.wgsl.
//
// Host-checked requirements: d_k % 4 == 0.

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

