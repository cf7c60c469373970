// flash_backward lse, after flash_backward_common.wgsl: the log-sum-exp of every query row's
// scaled scores, lse = m + log Σ exp(s − m), for 4·QUERY_BLOCKS queries of one head per
// invocation, walking the key blocks the queries see with a running max and sum (the forward's
// online softmax without its values). The backward's P = exp(s − lse) needs it; the forward kernel
// does not write it, so the backward recomputes it here (n²·d_k MACs per head and sequence).
// Grid: x = query blocks of WORKGROUP_SIZE invocations, y = heads, z = sequences.
const QUERY_BLOCKS: u32 = {{QUERY_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;
/** A score below any real one: masked keys and the running max before the first key. */
const LOWEST: f32 = -3.0e38;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.y;
  let seq_row = wid.z * params.n;
  let q_col = h * HEAD_BLOCKS;
  let k_col = (h / params.group) * HEAD_BLOCKS;
  let first_query = gid.x * 4u * QUERY_BLOCKS;
  //#unroll i QUERY_BLOCKS
  let q_rows_{i} = (vec4<u32>(seq_row) + clamped_rows(first_query + {i}u * 4u)) * params.d_model4 + vec4<u32>(q_col);
  //#unroll d HEAD_BLOCKS
  let q_{i}_{d} = load_q(q_rows_{i} + vec4<u32>({d}u)) * params.scale;
  //#end
  var m_{i} = vec4<f32>(LOWEST);
  var l_{i} = vec4<f32>(0.0);
  //#end
  let last_query = min(first_query + 4u * QUERY_BLOCKS, params.n) - 1u;
  // the keys any of the invocation's queries sees (mask.wgsl)
  let keys_begin = key_start(first_query);
  let keys_end = key_end(last_query);
  for (var first_key = keys_begin; first_key < keys_end; first_key += 4u * KEY_BLOCKS) {
    //#unroll j KEY_BLOCKS
    let keys_{j} = vec4<u32>(first_key + {j}u * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    let k_rows_{j} = (vec4<u32>(seq_row) + min(keys_{j}, vec4<u32>(params.n - 1u))) * params.kv_width4 + vec4<u32>(k_col);
    //#unroll i QUERY_BLOCKS
    var s_{i}_{j} = mat4x4<f32>();
    //#end
    //#unroll d HEAD_BLOCKS
    let kt_{j}_{d} = transpose(load_k(k_rows_{j} + vec4<u32>({d}u)));
    //#unroll i QUERY_BLOCKS
    s_{i}_{j} += kt_{j}_{d} * q_{i}_{d};
    //#end
    //#end
    //#unroll i QUERY_BLOCKS
    //#unroll c 4
    let seen_{i}_{j}_{c} = visible(first_query + {i}u * 4u + {c}u, keys_{j});
    let s_{i}_{j}_{c} = select(vec4<f32>(LOWEST), s_{i}_{j}[{c}], seen_{i}_{j}_{c});
    let m_new_{i}_{j}_{c} = max(m_{i}[{c}], max(max(s_{i}_{j}_{c}.x, s_{i}_{j}_{c}.y), max(s_{i}_{j}_{c}.z, s_{i}_{j}_{c}.w)));
    let p_{i}_{j}_{c} = select(vec4<f32>(0.0), exp(s_{i}_{j}_{c} - vec4<f32>(m_new_{i}_{j}_{c})), seen_{i}_{j}_{c});
    l_{i}[{c}] = l_{i}[{c}] * exp(m_{i}[{c}] - m_new_{i}_{j}_{c}) + dot(p_{i}_{j}_{c}, vec4<f32>(1.0));
    m_{i}[{c}] = m_new_{i}_{j}_{c};
    //#end
    //#end
    //#end
  }
  let stats_row = (wid.z * params.heads + h) * params.n;
  //#unroll i QUERY_BLOCKS
  //#unroll c 4
  if (first_query + {i}u * 4u + {c}u < params.n) {
    lse_out[stats_row + first_query + {i}u * 4u + {c}u] = m_{i}[{c}] + log(l_{i}[{c}]);
  }
  //#end
  //#end
}
