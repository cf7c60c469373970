// scores, register layout (what a software adapter wants), after scores_common.wgsl: each
// invocation owns 4·ROW_BLOCKS queries × 4·KEY_BLOCKS keys; one step along the head dimension
// loads one vec4 of each of its queries and keys. Sizes: see projection.wgsl.
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

/** Offsets (in vec4) of four consecutive rows of q or k at this head, clamped to row n − 1. */
fn row_offsets(first_row: u32, head_offset: u32) -> vec4<u32> {
  let rows = min(vec4<u32>(first_row) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
  return rows * params.d_model4 + vec4<u32>(head_offset);
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
