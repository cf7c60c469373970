// flash_attention, workgroup-tile layout (what real GPUs want), after flash_attention_common.wgsl:
// the workgroup stages TILE_KEYS keys and values of its head in workgroup memory, every invocation
// loading a share (consecutive invocations, consecutive vec4), then each invocation runs the steps
// over the staged keys out of workgroup memory, where all invocations read the same key at once (a
// broadcast). Each key and value is read from device memory once per workgroup instead of once per
// invocation.
//
// Host-checked: TILE_KEYS is a multiple of 4·KEY_BLOCKS, and the two workgroup arrays fit the
// device's maxComputeWorkgroupStorageSize (the plan in src/gpu/gpu_attention.ts). Keys past n are
// staged clamped and masked like in the register layout, whose step body this one repeats over the
// staged keys.
/** keys staged per tile */
const TILE_KEYS: u32 = {{TILE_KEYS}}u;

/** TILE_KEYS keys × HEAD_BLOCKS vec4 each, of one head */
var<workgroup> tile_k: array<vec4<f32>, TILE_KEYS * HEAD_BLOCKS>;
var<workgroup> tile_v: array<vec4<f32>, TILE_KEYS * HEAD_BLOCKS>;

/** Four staged rows at `offsets` (in vec4), as the columns of a matrix. */
fn load_tile_k(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(tile_k[offsets.x], tile_k[offsets.y], tile_k[offsets.z], tile_k[offsets.w]);
}

fn load_tile_v(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(tile_v[offsets.x], tile_v[offsets.y], tile_v[offsets.z], tile_v[offsets.w]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
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
  for (var tile_first_key = 0u; tile_first_key < params.n; tile_first_key += TILE_KEYS) {
    for (var e = lane; e < TILE_KEYS * HEAD_BLOCKS; e += WORKGROUP_SIZE) {
      let key = min(tile_first_key + e / HEAD_BLOCKS, params.n - 1u);
      let offset = key * params.d_model4 + head_offset + e % HEAD_BLOCKS;
      tile_k[e] = vec4<f32>(k[offset]);
      tile_v[e] = vec4<f32>(v[offset]);
    }
    workgroupBarrier();
    for (var step = 0u; step < TILE_KEYS; step += 4u * KEY_BLOCKS) {
      //#unroll j KEY_BLOCKS
      let tile_keys_{j} = vec4<u32>(step + {j}u * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
      let valid_{j} = vec4<u32>(tile_first_key) + tile_keys_{j} < vec4<u32>(params.n);
      let k_rows_{j} = tile_keys_{j} * HEAD_BLOCKS;
      //#end
      //#unroll i QUERY_BLOCKS
      //#unroll j KEY_BLOCKS
      var s_{i}_{j} = mat4x4<f32>();
      //#end
      //#end
      //#unroll j KEY_BLOCKS
      //#unroll d HEAD_BLOCKS
      let k_{j}_{d} = transpose(load_tile_k(k_rows_{j} + vec4<u32>({d}u)));
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
      let v_{j}_{d} = load_tile_v(k_rows_{j} + vec4<u32>({d}u));
      //#unroll i QUERY_BLOCKS
      o_{i}_{d} += v_{j}_{d} * p_{i}_{j};
      //#end
      //#end
      //#end
    }
    workgroupBarrier();
  }
  //#unroll i QUERY_BLOCKS
  let inverse_sum_{i} = 1.0 / l_{i};
  //#unroll d HEAD_BLOCKS
  store_block(first_query + {i}u * 4u, head_offset + {d}u, o_{i}_{d}, inverse_sum_{i});
  //#end
  //#end
}
