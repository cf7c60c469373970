// projection, workgroup-tile layout (what real GPUs want).
//
// A workgroup of ROW_LANES × COL_LANES invocations computes a tile of TILE_ROWS rows × TILE_COLS
// vec4 columns. Along `inner` it stages TILE_INNER vec4 of its rows of `a` and the matching
// 4·TILE_INNER rows of `b` in workgroup memory, every invocation loading a share with vec4 loads
// (consecutive invocations take consecutive addresses, so the loads coalesce), then each invocation
// multiplies its mat4x4 blocks out of workgroup memory: each staged value is read from device
// memory once per workgroup instead of once per invocation. Block (i, j) of an invocation is rows
// 4·(i·ROW_LANES + row_lane) … +3 and vec4 column j·COL_LANES + col_lane of the tile, so
// neighbouring invocations store neighbouring columns.
//
// Staged values past `rows` are clamped, past `inner` zero.
//#include projection_common.wgsl
//#include tile_prologue.wgsl
/** in vec4 columns */
const TILE_COLS: u32 = COL_BLOCKS * COL_LANES;

/** rows of the tile × TILE_INNER vec4 of `a` each */
var<workgroup> tile_a: array<vec4<f32>, TILE_ROWS * TILE_INNER>;
/** 4·TILE_INNER rows of `b` × TILE_COLS vec4 each */
var<workgroup> tile_b: array<vec4<f32>, 4u * TILE_INNER * TILE_COLS>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let row_lane = lane / COL_LANES;
  let col_lane = lane % COL_LANES;
  let tile_first_row = wid.y * TILE_ROWS;
  let tile_first_col = wid.x * TILE_COLS;
  let inner_vecs = params.inner / 4u;
  let col_vecs = params.cols / 4u;
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var k0 = 0u; k0 < inner_vecs; k0 += TILE_INNER) {
    for (var e = lane; e < TILE_ROWS * TILE_INNER; e += WORKGROUP_SIZE) {
      let row = min(tile_first_row + e / TILE_INNER, params.rows - 1u);
      let k4 = k0 + e % TILE_INNER;
      let value = load_a(row * inner_vecs + min(k4, inner_vecs - 1u));
      tile_a[e] = select(vec4<f32>(0.0), value, k4 < inner_vecs);
    }
    for (var e = lane; e < 4u * TILE_INNER * TILE_COLS; e += WORKGROUP_SIZE) {
      let k = 4u * k0 + e / TILE_COLS;
      let col = min(tile_first_col + e % TILE_COLS, col_vecs - 1u);
      let value = load_b(min(k, params.inner - 1u) * col_vecs + col);
      tile_b[e] = select(vec4<f32>(0.0), value, k < params.inner);
    }
    workgroupBarrier();
    for (var k4 = 0u; k4 < TILE_INNER; k4++) {
      //#unroll i ROW_BLOCKS
      let ra_{i} = ({i}u * ROW_LANES + row_lane) * 4u * TILE_INNER + k4;
      let a_{i} = mat4x4<f32>(tile_a[ra_{i}], tile_a[ra_{i} + TILE_INNER], tile_a[ra_{i} + 2u * TILE_INNER], tile_a[ra_{i} + 3u * TILE_INNER]);
      //#end
      //#unroll j COL_BLOCKS
      let rb_{j} = 4u * k4 * TILE_COLS + {j}u * COL_LANES + col_lane;
      let b_{j} = mat4x4<f32>(tile_b[rb_{j}], tile_b[rb_{j} + TILE_COLS], tile_b[rb_{j} + 2u * TILE_COLS], tile_b[rb_{j} + 3u * TILE_COLS]);
      //#unroll i ROW_BLOCKS
      acc_{i}_{j} += b_{j} * a_{i};
      //#end
      //#end
    }
    workgroupBarrier();
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block(tile_first_row + ({i}u * ROW_LANES + row_lane) * 4u, tile_first_col + {j}u * COL_LANES + col_lane, acc_{i}_{j});
  //#end
  //#end
}
