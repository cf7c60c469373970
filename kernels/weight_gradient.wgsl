// weight_gradient, register layout: c = aᵀ · b, the gradient of a projection's weight (dW = xᵀ·dY,
// a [rows, a_cols] its input, b [rows, b_cols] the gradient of its output), all row-major.
//
// Each invocation owns 4·ROW_BLOCKS rows of c (columns of a) × 4·COL_BLOCKS columns (of b), in
// mat4x4 accumulators: column r of acc_i_j is c row 4i+r's four columns 4j…4j+3. One step takes
// four rows of a and b: a_i (columns: the four rows' vec4 of a at block i) and b_j, and
// acc_i_j += b_j · a_iᵀ does 64 multiply-adds per pair, as projection.wgsl does for a · b.
//
// Host-checked requirements: a_cols % 4 == 0, b_cols % 4 == 0. Rows past `rows` load as zero;
// c's rows and columns past its size are never stored.

// `Stored` (f32 or f16) comes from the precision prelude (src/gpu/kernels.ts).
override WORKGROUP_SIZE: u32 = 8u;
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;

struct Params {
  rows: u32,
  a_cols: u32,
  b_cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<Stored>>;

/** Four rows' vec4 at column block `col4` of a row-major array of `cols4` vec4 per row. */
fn load_a(first_row: u32, col4: u32) -> mat4x4<f32> {
  let cols4 = params.a_cols / 4u;
  let zero = vec4<f32>(0.0);
  let last = params.rows - 1u;
  return mat4x4<f32>(
    select(zero, vec4<f32>(a[min(first_row, last) * cols4 + col4]), first_row < params.rows),
    select(zero, vec4<f32>(a[min(first_row + 1u, last) * cols4 + col4]), first_row + 1u < params.rows),
    select(zero, vec4<f32>(a[min(first_row + 2u, last) * cols4 + col4]), first_row + 2u < params.rows),
    select(zero, vec4<f32>(a[min(first_row + 3u, last) * cols4 + col4]), first_row + 3u < params.rows),
  );
}

fn load_b(first_row: u32, col4: u32) -> mat4x4<f32> {
  let cols4 = params.b_cols / 4u;
  let last = params.rows - 1u;
  // a's zero rows already cancel b's rows past `rows`: clamping suffices here
  return mat4x4<f32>(
    vec4<f32>(b[min(first_row, last) * cols4 + col4]),
    vec4<f32>(b[min(first_row + 1u, last) * cols4 + col4]),
    vec4<f32>(b[min(first_row + 2u, last) * cols4 + col4]),
    vec4<f32>(b[min(first_row + 3u, last) * cols4 + col4]),
  );
}

fn store_block(first_row: u32, col4: u32, block: mat4x4<f32>) {
  if (col4 >= params.b_cols / 4u) {
    return;
  }
  for (var r = 0u; r < 4u; r++) {
    if (first_row + r < params.a_cols) {
      c[(first_row + r) * (params.b_cols / 4u) + col4] = vec4<Stored>(block[r]);
    }
  }
}

// Grid: x = column blocks, y = groups of WORKGROUP_SIZE invocations along c's rows.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let first_row4 = (wid.y * WORKGROUP_SIZE + lane) * ROW_BLOCKS; // in vec4 columns of a
  let first_col4 = wid.x * COL_BLOCKS;
  let a_cols4 = params.a_cols / 4u;
  let b_cols4 = params.b_cols / 4u;
  //#unroll i ROW_BLOCKS
  let a_col_{i} = min(first_row4 + {i}u, a_cols4 - 1u);
  //#unroll j COL_BLOCKS
  var acc_{i}_{j} = mat4x4<f32>();
  //#end
  //#end
  //#unroll j COL_BLOCKS
  let b_col_{j} = min(first_col4 + {j}u, b_cols4 - 1u);
  //#end
  for (var r = 0u; r < params.rows; r += 4u) {
    //#unroll i ROW_BLOCKS
    let at_{i} = transpose(load_a(r, a_col_{i}));
    //#end
    //#unroll j COL_BLOCKS
    let b_{j} = load_b(r, b_col_{j});
    //#unroll i ROW_BLOCKS
    acc_{i}_{j} += b_{j} * at_{i};
    //#end
    //#end
  }
  //#unroll i ROW_BLOCKS
  //#unroll j COL_BLOCKS
  store_block((first_row4 + {i}u) * 4u, first_col4 + {j}u, acc_{i}_{j});
  //#end
  //#end
}
