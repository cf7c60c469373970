// naive_backward dkdv, after naive_backward_common.wgsl: dV = Pᵀ·dO and dK = dSᵀ·Q for four keys
// of one kv head per invocation over one window's rows of every query head of that kv head in the
// window. The window that first holds a kv head's rows (its first query head, row 0) stores; later
// windows add to what is there (dispatches in one pass see each other's writes).
// Grid: x = blocks of four keys, WORKGROUP_SIZE per workgroup; y = kv heads.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let g = wid.y;
  let key_vec = min(gid.x, params.n_pad4 - 1u);
  //#unroll d HEAD_BLOCKS
  var dk_{d} = mat4x4<f32>();
  var dv_{d} = mat4x4<f32>();
  //#end
  var touched = false;
  let zero = vec4<f32>(0.0);
  for (var z = 0u; z < params.window_heads; z++) {
    let h = params.first_head + z;
    if (h / params.group != g) {
      continue;
    }
    touched = true;
    for (var r0 = 0u; r0 < params.window_rows; r0 += 4u) {
      let seen = vec4<u32>(r0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.window_rows);
      let local_rows = clamped(r0, params.window_rows - 1u);
      let at = (vec4<u32>(z * params.window_rows) + local_rows) * params.n_pad4 + vec4<u32>(key_vec);
      // columns: the four rows' probabilities (dS) of the four keys; rows past the window are 0
      let p = mat4x4<f32>(
        select(zero, vec4<f32>(probabilities[at.x]), seen.x),
        select(zero, vec4<f32>(probabilities[at.y]), seen.y),
        select(zero, vec4<f32>(probabilities[at.z]), seen.z),
        select(zero, vec4<f32>(probabilities[at.w]), seen.w),
      );
      let ds = mat4x4<f32>(
        select(zero, vec4<f32>(d_scores[at.x]), seen.x),
        select(zero, vec4<f32>(d_scores[at.y]), seen.y),
        select(zero, vec4<f32>(d_scores[at.z]), seen.z),
        select(zero, vec4<f32>(d_scores[at.w]), seen.w),
      );
      let pt = transpose(p);
      let dst = transpose(ds);
      let q_rows = (vec4<u32>(params.first_row) + local_rows) * params.d_model4 + vec4<u32>(h * HEAD_BLOCKS);
      //#unroll d HEAD_BLOCKS
      dv_{d} += load_rows(D_O, q_rows + vec4<u32>({d}u)) * pt;
      dk_{d} += load_rows(Q, q_rows + vec4<u32>({d}u)) * dst;
      //#end
    }
  }
  let first_of_group = g * params.group;
  let first = params.first_row == 0u && first_of_group >= params.first_head &&
    first_of_group < params.first_head + params.window_heads;
  if (!touched || gid.x >= params.n_pad4) {
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    let key = 4u * gid.x + c;
    if (key < params.n) {
      let out = key * params.grad_width4 + params.d_model4 + g * HEAD_BLOCKS;
      //#unroll d HEAD_BLOCKS
      var dk_old_{d} = vec4<f32>(0.0);
      var dv_old_{d} = vec4<f32>(0.0);
      if (!first) {
        dk_old_{d} = vec4<f32>(grads[out + {d}u]);
        dv_old_{d} = vec4<f32>(grads[out + params.kv_width4 + {d}u]);
      }
      grads[out + {d}u] = vec4<Stored>(dk_old_{d} + dk_{d}[c]);
      grads[out + params.kv_width4 + {d}u] = vec4<Stored>(dv_old_{d} + dv_{d}[c]);
      //#end
    }
  }
}
