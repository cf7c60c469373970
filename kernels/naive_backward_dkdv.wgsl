// naive_backward dkdv, after naive_backward_common.wgsl: dV = Pᵀ·dO and dK = dSᵀ·Q for four keys
// of one kv head of one sequence per invocation, over one window's rows of every slab of that kv
// head in the window. The window that first holds the kv head's rows (the slab of its first query
// head, row 0) stores; later windows add to what is there (dispatches in one pass see each
// other's writes).
// Grid: x = blocks of four keys, WORKGROUP_SIZE per workgroup; y = kv heads; z = sequences.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let g = wid.y;
  let sequence = wid.z;
  let key_vec = gid.x;
  //#unroll d HEAD_BLOCKS
  var dk_{d} = mat4x4<f32>();
  var dv_{d} = mat4x4<f32>();
  //#end
  var touched = false;
  for (var z = 0u; z < params.window_slabs; z++) {
    let slab = params.first_slab + z;
    if (slab / params.heads != sequence || (slab % params.heads) / params.group != g) {
      continue;
    }
    touched = true;
    for (var r0 = 0u; r0 < params.window_rows; r0 += 4u) {
      // columns: four rows' P (dS) of the four keys; masked, unstored and past-window rows read 0
      let pt = transpose(mat4x4<f32>(
        masked_load(false, z, r0, key_vec),
        masked_load(false, z, r0 + 1u, key_vec),
        masked_load(false, z, r0 + 2u, key_vec),
        masked_load(false, z, r0 + 3u, key_vec),
      ));
      let dst = transpose(mat4x4<f32>(
        masked_load(true, z, r0, key_vec),
        masked_load(true, z, r0 + 1u, key_vec),
        masked_load(true, z, r0 + 2u, key_vec),
        masked_load(true, z, r0 + 3u, key_vec),
      ));
      //#unroll c 4
      let q_row_{c} = query_offset(slab, params.first_row + r0 + {c}u);
      //#end
      //#unroll d HEAD_BLOCKS
      dv_{d} += mat4x4<f32>(vec4<f32>(d_o[q_row_0 + {d}u]), vec4<f32>(d_o[q_row_1 + {d}u]), vec4<f32>(d_o[q_row_2 + {d}u]), vec4<f32>(d_o[q_row_3 + {d}u])) * pt;
      dk_{d} += mat4x4<f32>(vec4<f32>(q[q_row_0 + {d}u]), vec4<f32>(q[q_row_1 + {d}u]), vec4<f32>(q[q_row_2 + {d}u]), vec4<f32>(q[q_row_3 + {d}u])) * dst;
      //#end
    }
  }
  if (!touched) {
    return;
  }
  let first_slab_of_group = sequence * params.heads + g * params.group;
  let first = params.first_row == 0u && first_slab_of_group >= params.first_slab &&
    first_slab_of_group < params.first_slab + params.window_slabs;
  for (var c = 0u; c < 4u; c++) {
    let key = 4u * key_vec + c;
    if (key < params.n) {
      let out = (sequence * params.n + key) * grad_width4() + params.d_model4 + g * HEAD_BLOCKS;
      //#unroll d HEAD_BLOCKS
      var dk_old_{d} = vec4<f32>(0.0);
      var dv_old_{d} = vec4<f32>(0.0);
      if (!first) {
        dk_old_{d} = vec4<f32>(grads[out + {d}u]);
        dv_old_{d} = vec4<f32>(grads[out + params.kv_model4 + {d}u]);
      }
      grads[out + {d}u] = vec4<Stored>(dk_old_{d} + dk_{d}[c]);
      grads[out + params.kv_model4 + {d}u] = vec4<Stored>(dv_old_{d} + dv_{d}[c]);
      //#end
    }
  }
}
