// naive_backward dq, after naive_backward_common.wgsl: dQ = dS·K for four rows of one window head
// per invocation, walking every key of the window's rows (dS already holds 1/√d_k).
// Grid: x = blocks of four window rows, WORKGROUP_SIZE per workgroup; y = window heads.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let z = wid.y;
  let h = params.first_head + z;
  let k_col = (h / params.group) * HEAD_BLOCKS;
  let first_local = 4u * gid.x;
  let local_rows = clamped(first_local, params.window_rows - 1u);
  let window_rows = (vec4<u32>(z * params.window_rows) + local_rows) * params.n_pad4;
  //#unroll d HEAD_BLOCKS
  var dq_{d} = mat4x4<f32>();
  //#end
  for (var key_vec = 0u; key_vec < params.n_pad4; key_vec++) {
    let ds = mat4x4<f32>(
      vec4<f32>(d_scores[window_rows.x + key_vec]),
      vec4<f32>(d_scores[window_rows.y + key_vec]),
      vec4<f32>(d_scores[window_rows.z + key_vec]),
      vec4<f32>(d_scores[window_rows.w + key_vec]),
    );
    let k_rows = clamped(4u * key_vec, params.n - 1u) * params.kv_width4 + vec4<u32>(k_col);
    //#unroll d HEAD_BLOCKS
    dq_{d} += load_rows(K, k_rows + vec4<u32>({d}u)) * ds;
    //#end
  }
  for (var c = 0u; c < 4u; c++) {
    if (first_local + c < params.window_rows) {
      let out = (params.first_row + first_local + c) * params.grad_width4 + h * HEAD_BLOCKS;
      //#unroll d HEAD_BLOCKS
      grads[out + {d}u] = vec4<Stored>(dq_{d}[c]);
      //#end
    }
  }
}
