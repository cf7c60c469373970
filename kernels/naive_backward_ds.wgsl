// naive_backward ds, after naive_backward_common.wgsl: dS = P ⊙ (dP − D)/√d_k of one score
// window, dP = dO·Vᵀ recomputed per block: each invocation owns four rows of one window head and
// 4·KEY_BLOCKS keys (padding keys: P = 0, so dS = 0 is written there too).
// Grid: x = key blocks of WORKGROUP_SIZE invocations, y = blocks of four window rows, z = window
// heads.
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let z = wid.z;
  let h = params.first_head + z;
  let k_col = (h / params.group) * HEAD_BLOCKS;
  let local_rows = clamped(4u * wid.y, params.window_rows - 1u);
  let queries = vec4<u32>(params.first_row) + local_rows;
  let window_rows = vec4<u32>(z * params.window_rows) + local_rows;
  let q_rows = queries * params.d_model4 + vec4<u32>(h * HEAD_BLOCKS);
  //#unroll d HEAD_BLOCKS
  let do_{d} = load_rows(D_O, q_rows + vec4<u32>({d}u));
  //#end
  let stats = vec4<u32>(h * params.n) + queries;
  let d_rows = vec4<f32>(row_dot[stats.x], row_dot[stats.y], row_dot[stats.z], row_dot[stats.w]);
  let first_key_vec = gid.x * KEY_BLOCKS;
  //#unroll j KEY_BLOCKS
  let key_vec_{j} = min(first_key_vec + {j}u, params.n_pad4 - 1u);
  let k_rows_{j} = clamped(4u * key_vec_{j}, params.n - 1u) * params.kv_width4 + vec4<u32>(k_col);
  var dp_{j} = mat4x4<f32>();
  //#unroll d HEAD_BLOCKS
  dp_{j} += transpose(load_rows(V, k_rows_{j} + vec4<u32>({d}u))) * do_{d};
  //#end
  //#unroll c 4
  let at_{j}_{c} = window_rows[{c}] * params.n_pad4 + key_vec_{j};
  let ds_{j}_{c} = vec4<f32>(probabilities[at_{j}_{c}]) * (dp_{j}[{c}] - vec4<f32>(d_rows[{c}])) * params.scale;
  if (4u * wid.y + {c}u < params.window_rows && first_key_vec + {j}u < params.n_pad4) {
    d_scores[at_{j}_{c}] = vec4<Stored>(ds_{j}_{c});
  }
  //#end
  //#end
}
