// flash_backward kv, after flash_backward_common.wgsl: dK and dV for 4·KEY_BLOCKS keys of one kv
// head per invocation, walking the query blocks of every query head that reads the kv head (so
// grouped-query attention's sum over those heads happens in registers), 4·QUERY_BLOCKS queries a
// step; causal skips the queries before the first key, sliding those past the last key's window.
// The keys' k and v (transposed) and the dK, dV accumulators stay in registers; each step
// recomputes s = K·Qᵀ and dP = V·dOᵀ, then P and dS (flash_backward_common.wgsl), and adds
// dV += dO·Pᵀ, dK += (Q/√d_k)·dSᵀ.
// Grid: x = key blocks of WORKGROUP_SIZE invocations, y = kv heads, z = sequences.
const QUERY_BLOCKS: u32 = {{QUERY_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let g = wid.y;
  let seq_row = wid.z * params.n;
  let k_col = g * HEAD_BLOCKS;
  let first_key = gid.x * 4u * KEY_BLOCKS;
  //#unroll j KEY_BLOCKS
  let keys_{j} = vec4<u32>(first_key + {j}u * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
  let k_rows_{j} = (vec4<u32>(seq_row) + min(keys_{j}, vec4<u32>(params.n - 1u))) * params.kv_width4 + vec4<u32>(k_col);
  //#unroll d HEAD_BLOCKS
  let kt_{j}_{d} = transpose(load_k(k_rows_{j} + vec4<u32>({d}u)));
  let vt_{j}_{d} = transpose(load_v(k_rows_{j} + vec4<u32>({d}u)));
  var dk_{j}_{d} = mat4x4<f32>();
  var dv_{j}_{d} = mat4x4<f32>();
  //#end
  //#end
  let last_key = min(first_key + 4u * KEY_BLOCKS, params.n) - 1u;
  // the queries that see any of the invocation's keys: key > query − ahead, key < query + behind
  let query_begin = first_key + 1u - min(first_key + 1u, params.ahead);
  let query_end = min(params.n, last_key + params.behind);
  for (var local = 0u; local < params.group; local++) {
    let h = (g * params.group + local);
    let q_col = h * HEAD_BLOCKS;
    let stats_row = vec4<u32>((wid.z * params.heads + h) * params.n);
    for (var first_query = query_begin; first_query < query_end; first_query += 4u * QUERY_BLOCKS) {
      //#unroll i QUERY_BLOCKS
      let rows_{i} = clamped_rows(first_query + {i}u * 4u);
      let q_rows_{i} = (vec4<u32>(seq_row) + rows_{i}) * params.d_model4 + vec4<u32>(q_col);
      //#unroll j KEY_BLOCKS
      var s_{i}_{j} = mat4x4<f32>();
      var dp_{i}_{j} = mat4x4<f32>();
      //#end
      //#unroll d HEAD_BLOCKS
      let q_{i}_{d} = load_q(q_rows_{i} + vec4<u32>({d}u)) * params.scale;
      let do_{i}_{d} = load_d_o(q_rows_{i} + vec4<u32>({d}u));
      //#unroll j KEY_BLOCKS
      s_{i}_{j} += kt_{j}_{d} * q_{i}_{d};
      dp_{i}_{j} += vt_{j}_{d} * do_{i}_{d};
      //#end
      //#end
      let lse_{i} = gather(stats_row + rows_{i}, true);
      let d_{i} = gather(stats_row + rows_{i}, false);
      //#unroll j KEY_BLOCKS
      let probabilities_{i}_{j} = probabilities(s_{i}_{j}, dp_{i}_{j}, first_query + {i}u * 4u, keys_{j}, lse_{i}, d_{i});
      let pt_{i}_{j} = transpose(probabilities_{i}_{j}.p);
      let dst_{i}_{j} = transpose(probabilities_{i}_{j}.ds);
      //#end
      //#unroll d HEAD_BLOCKS
      //#unroll j KEY_BLOCKS
      dv_{j}_{d} += do_{i}_{d} * pt_{i}_{j};
      dk_{j}_{d} += q_{i}_{d} * dst_{i}_{j};
      //#end
      //#end
      //#end
    }
  }
  //#unroll j KEY_BLOCKS
  for (var r = 0u; r < 4u; r++) {
    let key = first_key + {j}u * 4u + r;
    if (key < params.n) {
      let out = (seq_row + key) * params.grad_width4 + params.d_model4 + k_col;
      //#unroll d HEAD_BLOCKS
      grads[out + {d}u] = vec4<Stored>(dk_{j}_{d}[r]);
      grads[out + params.kv_width4 + {d}u] = vec4<Stored>(dv_{j}_{d}[r]);
      //#end
    }
  }
  //#end
}
