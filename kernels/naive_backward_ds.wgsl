// naive_backward ds, after naive_backward_common.wgsl: dS = P ⊙ (dP − D)/√d_k of one score
// window, dP = dO·Vᵀ recomputed per block: each invocation owns four rows of one slab and
// 4·KEY_BLOCKS keys, and stores the vec4 that the rows store (all keys for full and causal, the
// band for sliding).
// Grid: x = key blocks of WORKGROUP_SIZE invocations, y = blocks of four window rows, z = window
// slabs.
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let z = wid.z;
  let slab = params.first_slab + z;
  let first_local = 4u * wid.y;
  //#unroll c 4
  let query_{c} = params.first_row + first_local + {c}u;
  let q_row_{c} = query_offset(slab, query_{c});
  //#end
  //#unroll d HEAD_BLOCKS
  let do_{d} = mat4x4<f32>(vec4<f32>(d_o[q_row_0 + {d}u]), vec4<f32>(d_o[q_row_1 + {d}u]), vec4<f32>(d_o[q_row_2 + {d}u]), vec4<f32>(d_o[q_row_3 + {d}u]));
  //#end
  let stats = slab * params.n;
  let d_rows = vec4<f32>(
    row_dot[stats + min(query_0, params.n - 1u)],
    row_dot[stats + min(query_1, params.n - 1u)],
    row_dot[stats + min(query_2, params.n - 1u)],
    row_dot[stats + min(query_3, params.n - 1u)],
  );
  //#unroll j KEY_BLOCKS
  let key_vec_{j} = gid.x * KEY_BLOCKS + {j}u;
  //#unroll i 4
  let v_row_{j}_{i} = key_offset(slab, 4u * key_vec_{j} + {i}u);
  //#end
  var dp_{j} = mat4x4<f32>();
  //#unroll d HEAD_BLOCKS
  dp_{j} += transpose(mat4x4<f32>(vec4<f32>(v[v_row_{j}_0 + {d}u]), vec4<f32>(v[v_row_{j}_1 + {d}u]), vec4<f32>(v[v_row_{j}_2 + {d}u]), vec4<f32>(v[v_row_{j}_3 + {d}u]))) * do_{d};
  //#end
  //#unroll c 4
  if (stores_vec(first_local + {c}u, key_vec_{j})) {
    let p = masked_load(false, z, first_local + {c}u, key_vec_{j});
    let ds = p * (dp_{j}[{c}] - vec4<f32>(d_rows[{c}])) * params.scale;
    d_scores[score_index(z, first_local + {c}u, key_vec_{j})] = vec4<Stored>(ds);
  }
  //#end
  //#end
}
