// scores, workgroup-tile layout (what real GPUs want).
//
// A workgroup computes TILE_ROWS queries × TILE_KEYS keys of one slab. Along the head dimension it
// stages TILE_INNER vec4 of its queries and of its keys in workgroup memory, every invocation
// loading a share with vec4 loads (consecutive invocations, consecutive addresses), then each
// invocation multiplies its blocks out of workgroup memory. Block (i, j) of an invocation is
// queries 4·(i·ROW_LANES + row_lane) … +3 and keys 4·(j·COL_LANES + col_lane) … +3 of the tile, so
// neighbouring invocations store neighbouring vec4 of a score row. A tile wholly outside the mask
// returns before staging (a uniform decision: it depends on the workgroup only). Staged values
// past d_k are zero.
//#include scores_common.wgsl
//#include tile_prologue.wgsl
const TILE_KEYS: u32 = 4u * KEY_BLOCKS * COL_LANES;

var<workgroup> tile_q: array<vec4<f32>, TILE_ROWS * TILE_INNER>;
var<workgroup> tile_k: array<vec4<f32>, TILE_KEYS * TILE_INNER>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let row_lane = lane / COL_LANES;
  let col_lane = lane % COL_LANES;
  let slab = params.first_slab + wid.z;
  let tile_first_local_row = wid.x * TILE_ROWS;
  let tile_first_query = params.first_row + tile_first_local_row;
  let tile_last_query = params.first_row + min(tile_first_local_row + TILE_ROWS, params.window_rows) - 1u;
  let tile_first_key = group_first_key(tile_first_query, wid.y, TILE_KEYS);
  if (!meets_mask(tile_first_query, tile_last_query, tile_first_key, TILE_KEYS)) {
    return;
  }
  //#unroll i ROW_BLOCKS
  //#unroll j KEY_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var d0 = 0u; d0 < params.head_dim4; d0 += TILE_INNER) {
    for (var e = lane; e < TILE_ROWS * TILE_INNER; e += WORKGROUP_SIZE) {
      let d4 = d0 + e % TILE_INNER;
      let value = load_q(query_offset(slab, tile_first_query + e / TILE_INNER) + min(d4, params.head_dim4 - 1u));
      tile_q[e] = select(vec4<f32>(0.0), value, d4 < params.head_dim4);
    }
    for (var e = lane; e < TILE_KEYS * TILE_INNER; e += WORKGROUP_SIZE) {
      let d4 = d0 + e % TILE_INNER;
      let value = load_k(key_offset(slab, tile_first_key + e / TILE_INNER) + min(d4, params.head_dim4 - 1u));
      tile_k[e] = select(vec4<f32>(0.0), value, d4 < params.head_dim4);
    }
    workgroupBarrier();
    for (var d4 = 0u; d4 < TILE_INNER; d4++) {
      //#unroll i ROW_BLOCKS
      let rq_{i} = ({i}u * ROW_LANES + row_lane) * 4u * TILE_INNER + d4;
      let q_{i} = mat4x4<f32>(tile_q[rq_{i}], tile_q[rq_{i} + TILE_INNER], tile_q[rq_{i} + 2u * TILE_INNER], tile_q[rq_{i} + 3u * TILE_INNER]);
      //#end
      //#unroll j KEY_BLOCKS
      let rk_{j} = ({j}u * COL_LANES + col_lane) * 4u * TILE_INNER + d4;
      let k_{j} = transpose(mat4x4<f32>(tile_k[rk_{j}], tile_k[rk_{j} + TILE_INNER], tile_k[rk_{j} + 2u * TILE_INNER], tile_k[rk_{j} + 3u * TILE_INNER]));
      //#unroll i ROW_BLOCKS
      acc_{i}_{j} += k_{j} * q_{i};
      //#end
      //#end
    }
    workgroupBarrier();
  }
  //#unroll i ROW_BLOCKS
  //#unroll j KEY_BLOCKS
  store_block(wid.z, tile_first_local_row + ({i}u * ROW_LANES + row_lane) * 4u, tile_first_key / 4u + {j}u * COL_LANES + col_lane, acc_{i}_{j});
  //#end
  //#end
}
