// flash_backward q, after flash_backward_common.wgsl: dQ = dS·K/√d_k for 4·QUERY_BLOCKS queries of
// one head per invocation, walking the key blocks the queries see (causal: none past the last
// query; sliding: none before the first query's window), 4·KEY_BLOCKS keys a step. The queries'
// (scaled) q and dO rows, their lse and D, and the dQ accumulators stay in registers; each step
// recomputes s = K·Qᵀ and dP = V·dOᵀ, then P and dS (flash_backward_common.wgsl).
// Grid: x = query blocks of WORKGROUP_SIZE invocations, y = heads, z = sequences.
const QUERY_BLOCKS: u32 = {{QUERY_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.y;
  let seq_row = wid.z * params.n;
  let q_col = h * HEAD_BLOCKS;
  let k_col = (h / params.group) * HEAD_BLOCKS;
  let stats_row = vec4<u32>((wid.z * params.heads + h) * params.n);
  let first_query = gid.x * 4u * QUERY_BLOCKS;
  //#unroll i QUERY_BLOCKS
  let rows_{i} = clamped_rows(first_query + {i}u * 4u);
  let q_rows_{i} = (vec4<u32>(seq_row) + rows_{i}) * params.d_model4 + vec4<u32>(q_col);
  let lse_{i} = gather(stats_row + rows_{i}, true);
  let d_{i} = gather(stats_row + rows_{i}, false);
  //#unroll d HEAD_BLOCKS
  let q_{i}_{d} = load_q(q_rows_{i} + vec4<u32>({d}u)) * params.scale;
  let do_{i}_{d} = load_d_o(q_rows_{i} + vec4<u32>({d}u));
  var dq_{i}_{d} = mat4x4<f32>();
  //#end
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
    var dp_{i}_{j} = mat4x4<f32>();
    //#end
    //#unroll d HEAD_BLOCKS
    let kt_{j}_{d} = transpose(load_k(k_rows_{j} + vec4<u32>({d}u)));
    let vt_{j}_{d} = transpose(load_v(k_rows_{j} + vec4<u32>({d}u)));
    //#unroll i QUERY_BLOCKS
    s_{i}_{j} += kt_{j}_{d} * q_{i}_{d};
    dp_{i}_{j} += vt_{j}_{d} * do_{i}_{d};
    //#end
    //#end
    //#unroll i QUERY_BLOCKS
    let ds_{i}_{j} = probabilities(s_{i}_{j}, dp_{i}_{j}, first_query + {i}u * 4u, keys_{j}, lse_{i}, d_{i}).ds;
    //#end
    //#unroll d HEAD_BLOCKS
    let k_{j}_{d} = load_k(k_rows_{j} + vec4<u32>({d}u));
    //#unroll i QUERY_BLOCKS
    dq_{i}_{d} += k_{j}_{d} * ds_{i}_{j};
    //#end
    //#end
    //#end
  }
  //#unroll i QUERY_BLOCKS
  for (var r = 0u; r < 4u; r++) {
    let query = first_query + {i}u * 4u + r;
    if (query < params.n) {
      let out = (seq_row + query) * params.grad_width4 + q_col;
      //#unroll d HEAD_BLOCKS
      grads[out + {d}u] = vec4<Stored>(dq_{i}_{d}[r] * params.scale);
      //#end
    }
  }
  //#end
}
