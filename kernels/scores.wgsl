// scores, register layout (what a software adapter wants): each invocation owns 4·ROW_BLOCKS
// queries × 4·KEY_BLOCKS keys; one step along the head dimension loads one vec4 of each of its
// queries and keys. Sizes: see projection.wgsl.
//#include scores_common.wgsl

/** Offsets (in vec4) of four consecutive query rows of slab `slab`, clamped to row n − 1. */
fn query_offsets(slab: u32, first: u32) -> vec4<u32> {
  return vec4<u32>(query_offset(slab, first), query_offset(slab, first + 1u), query_offset(slab, first + 2u), query_offset(slab, first + 3u));
}

/** Offsets (in vec4) of four consecutive key rows of slab `slab`, clamped to row n − 1. */
fn key_offsets(slab: u32, first: u32) -> vec4<u32> {
  return vec4<u32>(key_offset(slab, first), key_offset(slab, first + 1u), key_offset(slab, first + 2u), key_offset(slab, first + 3u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let slab = params.first_slab + wid.z;
  let first_local_row = gid.x * 4u * ROW_BLOCKS;
  let first_query = params.first_row + first_local_row;
  let last_query = params.first_row + min(first_local_row + 4u * ROW_BLOCKS, params.window_rows) - 1u;
  let group_first_query = params.first_row + wid.x * WORKGROUP_SIZE * 4u * ROW_BLOCKS;
  let first_key = group_first_key(group_first_query, wid.y, 4u * KEY_BLOCKS);
  if (first_local_row >= params.window_rows || !meets_mask(first_query, last_query, first_key, 4u * KEY_BLOCKS)) {
    return;
  }
  //#unroll i ROW_BLOCKS
  let q_rows_{i} = query_offsets(slab, first_query + {i}u * 4u);
  //#end
  //#unroll j KEY_BLOCKS
  let k_rows_{j} = key_offsets(slab, first_key + {j}u * 4u);
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
