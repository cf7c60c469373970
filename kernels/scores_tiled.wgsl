// scores, workgroup-tile layout (what real GPUs want), after scores_common.wgsl.
//
// A workgroup of ROW_LANES × COL_LANES invocations computes TILE_ROWS queries × TILE_KEYS keys of
// one head. Along the head dimension it stages TILE_INNER vec4 of its queries and of its keys in
// workgroup memory, every invocation loading a share with vec4 loads (consecutive invocations,
// consecutive addresses), then each invocation multiplies its blocks out of workgroup memory. Block
// (i, j) of an invocation is queries 4·(i·ROW_LANES + row_lane) … +3 and keys 4·(j·COL_LANES +
// col_lane) … +3 of the tile, so neighbouring invocations store neighbouring vec4 of a score row.
//
// Host-checked: WORKGROUP_SIZE == ROW_LANES · COL_LANES, and the workgroup arrays fit the device's
// maxComputeWorkgroupStorageSize (the plan in src/gpu/gpu_attention.ts). Staged values past d_k are
// zero.
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;
const ROW_LANES: u32 = {{ROW_LANES}}u;
const COL_LANES: u32 = {{COL_LANES}}u;
/** vec4 along the head dimension staged per step */
const TILE_INNER: u32 = {{TILE_INNER}}u;
const TILE_ROWS: u32 = 4u * ROW_BLOCKS * ROW_LANES;
const TILE_KEYS: u32 = 4u * KEY_BLOCKS * COL_LANES;

var<workgroup> tile_q: array<vec4<f32>, TILE_ROWS * TILE_INNER>;
var<workgroup> tile_k: array<vec4<f32>, TILE_KEYS * TILE_INNER>;

/** vec4 `d4` of the head's part of row `row` (clamped to n − 1) of q or k; 0 past d_k. */
fn staged_offset(row: u32, head_offset: u32, d4: u32) -> u32 {
  return min(row, params.n - 1u) * params.d_model4 + head_offset + min(d4, params.head_dim4 - 1u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let row_lane = lane / COL_LANES;
  let col_lane = lane % COL_LANES;
  let head_offset = (params.first_head + wid.z) * params.head_dim4;
  let tile_first_local_row = wid.x * TILE_ROWS;
  let tile_first_query = params.first_row + tile_first_local_row;
  let tile_first_key = wid.y * TILE_KEYS;
  //#unroll i ROW_BLOCKS
  //#unroll j KEY_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var d0 = 0u; d0 < params.head_dim4; d0 += TILE_INNER) {
    for (var e = lane; e < TILE_ROWS * TILE_INNER; e += WORKGROUP_SIZE) {
      let d4 = d0 + e % TILE_INNER;
      let value = load_q(staged_offset(tile_first_query + e / TILE_INNER, head_offset, d4));
      tile_q[e] = select(vec4<f32>(0.0), value, d4 < params.head_dim4);
    }
    for (var e = lane; e < TILE_KEYS * TILE_INNER; e += WORKGROUP_SIZE) {
      let d4 = d0 + e % TILE_INNER;
      let value = load_k(staged_offset(tile_first_key + e / TILE_INNER, head_offset, d4));
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
