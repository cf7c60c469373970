// flash_attention, register layout (what a software adapter wants), after
// flash_attention_common.wgsl: each step loads its keys and values straight from storage, once
// for all 4·QUERY_BLOCKS queries of the invocation; the keys are the same for every invocation of
// the workgroup, which is what makes the kernel fast where per-invocation loads are expensive
// (lavapipe); see projection.wgsl for the choice of sizes.

fn load_k(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(
    vec4<f32>(k[offsets.x]),
    vec4<f32>(k[offsets.y]),
    vec4<f32>(k[offsets.z]),
    vec4<f32>(k[offsets.w]),
  );
}

fn load_v(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(
    vec4<f32>(v[offsets.x]),
    vec4<f32>(v[offsets.y]),
    vec4<f32>(v[offsets.z]),
    vec4<f32>(v[offsets.w]),
  );
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let head_offset = wid.y * HEAD_BLOCKS;
  let first_query = gid.x * 4u * QUERY_BLOCKS;
  //#unroll i QUERY_BLOCKS
  let q_rows_{i} = clamped_rows(first_query + {i}u * 4u) * params.d_model4 + vec4<u32>(head_offset);
  //#unroll d HEAD_BLOCKS
  let q_{i}_{d} = load_q(q_rows_{i} + vec4<u32>({d}u)) * params.scale;
  var o_{i}_{d} = mat4x4<f32>();
  //#end
  var m_{i} = vec4<f32>(LOWEST);
  var l_{i} = vec4<f32>(0.0);
  //#end
  for (var first_key = 0u; first_key < params.n; first_key += 4u * KEY_BLOCKS) {
    //#unroll j KEY_BLOCKS
    let keys_{j} = vec4<u32>(first_key + {j}u * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let valid_{j} = keys_{j} < vec4<u32>(params.n);
    let k_rows_{j} = min(keys_{j}, vec4<u32>(params.n - 1u)) * params.d_model4 + vec4<u32>(head_offset);
    //#end
    //#unroll i QUERY_BLOCKS
    //#unroll j KEY_BLOCKS
    var s_{i}_{j} = mat4x4<f32>();
    //#end
    //#end
    //#unroll j KEY_BLOCKS
    //#unroll d HEAD_BLOCKS
    let k_{j}_{d} = transpose(load_k(k_rows_{j} + vec4<u32>({d}u)));
    //#unroll i QUERY_BLOCKS
    s_{i}_{j} += k_{j}_{d} * q_{i}_{d};
    //#end
    //#end
    //#end
    //#unroll i QUERY_BLOCKS
    var m_new_{i} = m_{i};
    //#unroll j KEY_BLOCKS
    s_{i}_{j} = mask_scores(s_{i}_{j}, valid_{j});
    m_new_{i} = max(m_new_{i}, column_max(s_{i}_{j}));
    //#end
    let alpha_{i} = exp(m_{i} - m_new_{i});
    m_{i} = m_new_{i};
    l_{i} *= alpha_{i};
    //#unroll j KEY_BLOCKS
    let p_{i}_{j} = probabilities(s_{i}_{j}, m_new_{i}, valid_{j});
    l_{i} += column_sum(p_{i}_{j});
    //#end
    //#end
    //#unroll d HEAD_BLOCKS
    //#unroll i QUERY_BLOCKS
    o_{i}_{d} = scale_columns(o_{i}_{d}, alpha_{i});
    //#end
    //#unroll j KEY_BLOCKS
    let v_{j}_{d} = load_v(k_rows_{j} + vec4<u32>({d}u));
    //#unroll i QUERY_BLOCKS
    o_{i}_{d} += v_{j}_{d} * p_{i}_{j};
    //#end
    //#end
    //#end
  }
  //#unroll i QUERY_BLOCKS
  let inverse_sum_{i} = 1.0 / l_{i};
  //#unroll d HEAD_BLOCKS
  store_block(first_query + {i}u * 4u, head_offset + {d}u, o_{i}_{d}, inverse_sum_{i});
  //#end
  //#end
}
