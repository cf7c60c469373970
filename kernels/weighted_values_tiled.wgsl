// weighted_values, workgroup-tile layout (what real GPUs want).
//
// A workgroup computes TILE_ROWS query rows × TILE_COLS vec4 columns of one head. Along the keys
// its rows see (a uniform range: it depends on the workgroup only) it stages TILE_INNER vec4 of
// probabilities of its rows and the matching 4·TILE_INNER rows of v in workgroup memory, every
// invocation loading a share with vec4 loads (consecutive invocations, consecutive addresses), then
// each invocation multiplies its blocks out of workgroup memory. Block (i, j) of an invocation is
// rows 4·(i·ROW_LANES + row_lane) … +3 and vec4 column j·COL_LANES + col_lane of the tile.
// Probabilities staged past the rows' keys are zero (masked).
//#include weighted_values_common.wgsl
//#include tile_prologue.wgsl
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
  let z = wid.z;
  let slab = params.first_slab + z;
  let tile_first_local_row = wid.x * TILE_ROWS;
  let tile_first_col = wid.y * TILE_COLS;
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  let keys = key_vec_range(tile_first_local_row, tile_first_local_row + TILE_ROWS - 1u);
  for (var j0 = keys.x; j0 < keys.y; j0 += TILE_INNER) {
    for (var e = lane; e < TILE_ROWS * TILE_INNER; e += WORKGROUP_SIZE) {
      let j4 = j0 + e % TILE_INNER;
      tile_p[e] = load_probs(z, tile_first_local_row + e / TILE_INNER, j4);
    }
    for (var e = lane; e < 4u * TILE_INNER * TILE_COLS; e += WORKGROUP_SIZE) {
      let col = min(tile_first_col + e % TILE_COLS, params.head_dim4 - 1u);
      tile_v[e] = load_v(key_offset(slab, 4u * j0 + e / TILE_COLS) + col);
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
  store_block(slab, tile_first_local_row + ({i}u * ROW_LANES + row_lane) * 4u, tile_first_col + {j}u * COL_LANES + col_lane, acc_{i}_{j});
  //#end
  //#end
}
