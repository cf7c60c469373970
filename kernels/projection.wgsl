// projection, register layout (what a software adapter wants).
//
// Each invocation owns a register block of 4·ROW_BLOCKS rows × 4·COL_BLOCKS columns, held in
// mat4x4 accumulators: column r of acc_i_j is row 4i+r's four output columns 4j…4j+3. One step
// along `inner` loads four inner values of each of its rows (a_i, one vec4 per row) and four rows
// of b at its columns (b_j), then acc_i_j += b_j · a_i does 64 multiply-adds per pair.
//
// In this layout `b` comes packed in panels of 4·COL_BLOCKS columns (src/gpu/weight_panels.ts):
// panel p is inner rows × COL_BLOCKS vec4, zero past `cols`, so a workgroup's columns are one
// panel and a step's loads are one contiguous run (5–15 % faster on lavapipe than row-major b).
//
// Why this shape: on lavapipe (CPU Vulkan) every storage load costs as much as dozens of
// multiply-adds and workgroup memory does not help, so a large register block per invocation and
// workgroup_size(8) (one SIMD group) win. Real GPUs want projection_tiled.wgsl. Sizes are template
// values and the WORKGROUP_SIZE override, chosen where the module is built (src/gpu/kernels.ts).
//#include projection_common.wgsl

/** Offsets (in vec4) of four consecutive rows of `a`, clamped to the last row. */
fn row_offsets(first_row: u32) -> vec4<u32> {
  let rows = min(vec4<u32>(first_row) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.rows - 1u));
  return rows * (params.inner / 4u);
}

// Grid: x = column blocks, y = groups of WORKGROUP_SIZE invocations along the rows. Consecutive
// workgroups take the next column block of the same rows, so those rows of `a` stay in cache
// across all column blocks (15 % faster on lavapipe than the transposed order).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  let first_row = (wid.y * WORKGROUP_SIZE + lane) * 4u * ROW_BLOCKS;
  let first_col = wid.x * COL_BLOCKS; // in vec4 columns
  let panel = wid.x * params.inner * COL_BLOCKS; // in vec4
  let inner_vecs = params.inner / 4u;
  //#unroll i ROW_BLOCKS
  let rows_{i} = row_offsets(first_row + {i}u * 4u);
  //#end
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  for (var k4 = 0u; k4 < inner_vecs; k4++) {
    //#unroll i ROW_BLOCKS
    let a_{i} = mat4x4<f32>(load_a(rows_{i}.x + k4), load_a(rows_{i}.y + k4), load_a(rows_{i}.z + k4), load_a(rows_{i}.w + k4));
    //#end
    let b0 = panel + 4u * k4 * COL_BLOCKS;
    let b1 = b0 + COL_BLOCKS;
    let b2 = b1 + COL_BLOCKS;
    let b3 = b2 + COL_BLOCKS;
    //#unroll j COL_BLOCKS
    let b_{j} = mat4x4<f32>(load_b(b0 + {j}u), load_b(b1 + {j}u), load_b(b2 + {j}u), load_b(b3 + {j}u));
    //#unroll i ROW_BLOCKS
    acc_{i}_{j} += b_{j} * a_{i};
    //#end
    //#end
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block(first_row + {i}u * 4u, first_col + {j}u, acc_{i}_{j});
  //#end
  //#end
}
