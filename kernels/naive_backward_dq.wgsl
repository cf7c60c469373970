// naive_backward dq, after naive_backward_common.wgsl: dQ = dS·K for four rows of one slab per
// invocation, walking every key vec4 (dS already holds 1/√d_k; masked and unstored keys read 0).
// Grid: x = blocks of four window rows, WORKGROUP_SIZE per workgroup; y = window slabs.

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let z = wid.y;
  let slab = params.first_slab + z;
  let first_local = 4u * gid.x;
  //#unroll d HEAD_BLOCKS
  var dq_{d} = mat4x4<f32>();
  //#end
  let key_vecs = (params.n + 3u) / 4u;
  for (var key_vec = 0u; key_vec < key_vecs; key_vec++) {
    let ds = mat4x4<f32>(
      masked_load(true, z, first_local, key_vec),
      masked_load(true, z, first_local + 1u, key_vec),
      masked_load(true, z, first_local + 2u, key_vec),
      masked_load(true, z, first_local + 3u, key_vec),
    );
    //#unroll i 4
    let k_row_{i} = key_offset(slab, 4u * key_vec + {i}u);
    //#end
    //#unroll d HEAD_BLOCKS
    dq_{d} += mat4x4<f32>(vec4<f32>(k[k_row_0 + {d}u]), vec4<f32>(k[k_row_1 + {d}u]), vec4<f32>(k[k_row_2 + {d}u]), vec4<f32>(k[k_row_3 + {d}u])) * ds;
    //#end
  }
  let sequence = slab / params.heads;
  let head = slab % params.heads;
  for (var c = 0u; c < 4u; c++) {
    let query = params.first_row + first_local + c;
    if (first_local + c < params.window_rows && query < params.n) {
      let out = (sequence * params.n + query) * grad_width4() + head * HEAD_BLOCKS;
      //#unroll d HEAD_BLOCKS
      grads[out + {d}u] = vec4<Stored>(dq_{d}[c]);
      //#end
    }
  }
}
