// column_sums: sums[j] = Σ_r m[r][j] over the rows of a row-major matrix, the gradient of a
// projection's bias (db = Σ_rows dY). One invocation per vec4 of columns; f32 sums.
//
// Host-checked requirement: cols % 4 == 0.

// `Stored` (f32 or f16) comes from the precision prelude (src/gpu/kernels.ts).
override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> m: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read_write> sums: array<vec4<Stored>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let cols4 = params.cols / 4u;
  let col4 = gid.x;
  if (col4 >= cols4) {
    return;
  }
  var sum = vec4<f32>(0.0);
  for (var r = 0u; r < params.rows; r++) {
    sum += vec4<f32>(m[r * cols4 + col4]);
  }
  sums[col4] = vec4<Stored>(sum);
}
