// weighted_values, register layout (what a software adapter wants): each invocation owns
// 4·ROW_BLOCKS query rows × 4·COL_BLOCKS columns of the head; one step along the keys loads four
// probabilities of each of its rows (one vec4) and four rows of v. Sizes: see projection.wgsl.
//#include weighted_values_common.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let z = wid.z;
  let slab = params.first_slab + z;
  let first_local_row = gid.x * 4u * ROW_BLOCKS;
  let first_col = wid.y * COL_BLOCKS; // in vec4 columns of the head
  if (first_local_row >= params.window_rows) {
    return;
  }
  //#unroll j COL_BLOCKS
  let col_{j} = min(first_col + {j}u, params.head_dim4 - 1u);
  //#end
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  // the keys the workgroup's rows see: the same v rows in every invocation (see flash_prologue.wgsl)
  let group_first_row = wid.x * WORKGROUP_SIZE * 4u * ROW_BLOCKS;
  let keys = key_vec_range(group_first_row, group_first_row + WORKGROUP_SIZE * 4u * ROW_BLOCKS - 1u);
  for (var j4 = keys.x; j4 < keys.y; j4++) {
    //#unroll i ROW_BLOCKS
    let p_{i} = mat4x4<f32>(load_probs(z, first_local_row + {i}u * 4u, j4), load_probs(z, first_local_row + {i}u * 4u + 1u, j4), load_probs(z, first_local_row + {i}u * 4u + 2u, j4), load_probs(z, first_local_row + {i}u * 4u + 3u, j4));
    //#end
    let key0 = key_offset(slab, 4u * j4);
    let key1 = key_offset(slab, 4u * j4 + 1u);
    let key2 = key_offset(slab, 4u * j4 + 2u);
    let key3 = key_offset(slab, 4u * j4 + 3u);
    //#unroll j COL_BLOCKS
    let v_{j} = mat4x4<f32>(load_v(key0 + col_{j}), load_v(key1 + col_{j}), load_v(key2 + col_{j}), load_v(key3 + col_{j}));
    //#unroll i ROW_BLOCKS
    acc_{i}_{j} += v_{j} * p_{i};
    //#end
    //#end
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block(slab, first_local_row + {i}u * 4u, first_col + {j}u, acc_{i}_{j});
  //#end
  //#end
}
