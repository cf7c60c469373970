// flash_backward row_dot, after flash_backward_common.wgsl: D = rowsum(dO ⊙ O) of every query row
// and head, the term of dS = P ⊙ (dP − D) that the kv and q kernels would otherwise each recompute.
// Grid: x = rows of a sequence (one invocation each), y = heads, z = sequences.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.n) {
    return;
  }
  let h = gid.y;
  let b = gid.z;
  let first = (b * params.n + row) * params.d_model4 + h * HEAD_BLOCKS;
  var sum = 0.0;
  for (var d = 0u; d < HEAD_BLOCKS; d++) {
    sum += dot(vec4<f32>(d_o[first + d]), vec4<f32>(o[first + d]));
  }
  row_dot[(b * params.heads + h) * params.n + row] = sum;
}
