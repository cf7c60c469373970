// weighted_values, register layout (what a software adapter wants), after
// weighted_values_common.wgsl: each invocation owns 4·ROW_BLOCKS query rows × 4·COL_BLOCKS
// columns of the head; one step along the keys loads four probabilities of each of its rows (one
// vec4) and four rows of v. Sizes: see projection.wgsl.
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;

/** Offsets (in vec4) of four consecutive rows of the window, clamped to its last row. */
fn prob_offsets(window_head: u32, first_local_row: u32) -> vec4<u32> {
  let local_rows = min(
    vec4<u32>(first_local_row) + vec4<u32>(0u, 1u, 2u, 3u),
    vec4<u32>(params.window_rows - 1u),
  );
  return (vec4<u32>(window_head * params.window_rows) + local_rows) * params.n_pad4;
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
