// weighted_values, workgroup-tile layout (what real GPUs want), after weighted_values_common.wgsl.
//
// A workgroup of ROW_LANES × COL_LANES invocations computes TILE_ROWS query rows × TILE_COLS vec4
// columns of one head. Along the keys it stages TILE_INNER vec4 of probabilities of its rows and
// the matching 4·TILE_INNER rows of v in workgroup memory, every invocation loading a share with
// vec4 loads (consecutive invocations, consecutive addresses), then each invocation multiplies its
// blocks out of workgroup memory. Block (i, j) of an invocation is rows 4·(i·ROW_LANES + row_lane)
// … +3 and vec4 column j·COL_LANES + col_lane of the tile.
//
// Host-checked: WORKGROUP_SIZE == ROW_LANES · COL_LANES, and the workgroup arrays fit the device's
// maxComputeWorkgroupStorageSize (the plan in src/gpu/gpu_attention.ts). Probabilities staged past
// n_pad4 are zero.
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;
const ROW_LANES: u32 = {{ROW_LANES}}u;
const COL_LANES: u32 = {{COL_LANES}}u;
/** vec4 of probabilities (4 keys each) staged per step */
const TILE_INNER: u32 = {{TILE_INNER}}u;
const TILE_ROWS: u32 = 4u * ROW_BLOCKS * ROW_LANES;
/** in vec4 columns of the head */
const TILE_COLS: u32 = COL_BLOCKS * COL_LANES;

var<workgroup> tile_p: array<vec4<f32>, TILE_ROWS * TILE_INNER>;
var<workgroup> tile_v: array<vec4<f32>, 4u * TILE_INNER * TILE_COLS>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let row_lane = lane / COL_LANES;
  let col_lane = lane % COL_LANES;
  let head_offset = (params.first_head + wid.z) * params.head_dim4;
  let tile_first_local_row = wid.x * TILE_ROWS;
  let tile_first_col = wid.y * TILE_COLS;
  let window_offset = wid.z * params.window_rows;
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var j0 = 0u; j0 < params.n_pad4; j0 += TILE_INNER) {
    for (var e = lane; e < TILE_ROWS * TILE_INNER; e += WORKGROUP_SIZE) {
      let local_row = min(tile_first_local_row + e / TILE_INNER, params.window_rows - 1u);
      let j4 = j0 + e % TILE_INNER;
      let value = load_probs((window_offset + local_row) * params.n_pad4 + min(j4, params.n_pad4 - 1u));
      tile_p[e] = select(vec4<f32>(0.0), value, j4 < params.n_pad4);
    }
    for (var e = lane; e < 4u * TILE_INNER * TILE_COLS; e += WORKGROUP_SIZE) {
      let key = min(4u * j0 + e / TILE_COLS, params.n - 1u);
      let col = min(tile_first_col + e % TILE_COLS, params.head_dim4 - 1u);
      tile_v[e] = load_v(key * params.d_model4 + head_offset + col);
    }
    workgroupBarrier();
    for (var j4 = 0u; j4 < TILE_INNER; j4++) {
      //#unroll i ROW_BLOCKS
      let rp_{i} = ({i}u * ROW_LANES + row_lane) * 4u * TILE_INNER + j4;
      let p_{i} = mat4x4<f32>(tile_p[rp_{i}], tile_p[rp_{i} + TILE_INNER], tile_p[rp_{i} + 2u * TILE_INNER], tile_p[rp_{i} + 3u * TILE_INNER]);
      //#end
      //#unroll j COL_BLOCKS
      let rv_{j} = 4u * j4 * TILE_COLS + {j}u * COL_LANES + col_lane;
      let v_{j} = mat4x4<f32>(tile_v[rv_{j}], tile_v[rv_{j} + TILE_COLS], tile_v[rv_{j} + 2u * TILE_COLS], tile_v[rv_{j} + 3u * TILE_COLS]);
      //#unroll i ROW_BLOCKS
      acc_{i}_{j} += v_{j} * p_{i};
      //#end
      //#end
    }
    workgroupBarrier();
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block(tile_first_local_row + ({i}u * ROW_LANES + row_lane) * 4u, tile_first_col + {j}u * COL_LANES + col_lane, head_offset, acc_{i}_{j});
  //#end
  //#end
}
