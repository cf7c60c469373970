// linear_output, after linear_common.wgsl: one query's output of one head,
// φ(q_i)ᵀ·S / (φ(q_i)ᵀ·z) with S and z from its chunk's state slot — the whole sequence (full
// mask), or the chunks before its own (causal), plus then the keys j ≤ i of its own chunk, each
// weighted by φ(q_i)·φ(k_j) once for all d_k columns. Writes the head's columns of concat
// [batch·n, d_model]. Grid: x over queries (all sequences), y over heads.

/** The widest head, in vec4: d_k = 128 (host-checked). */
const MAX_HEAD_DIM4: u32 = 32u;

@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read> state: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> concat: array<vec4<Stored>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let dk4 = params.head_dim4;
  let kv_heads = params.kv_stride4 / dk4;
  let query_row = gid.x;
  if (query_row >= arrayLength(&concat) / params.q_stride4) {
    return;
  }
  let sequence = query_row / params.n;
  let query = query_row % params.n;
  let head = gid.y;
  let kv_head = head / params.group;
  let chunk = select(0u, query / params.chunk, params.causal == 1u);
  let slot = ((sequence * kv_heads + kv_head) * params.chunks + chunk) * slot_vec4();
  let q_offset = query_row * params.q_stride4 + head * dk4;
  var phi_q: array<vec4<f32>, MAX_HEAD_DIM4>;
  var numerator: array<vec4<f32>, MAX_HEAD_DIM4>;
  var denominator = 0.0;
  for (var r4 = 0u; r4 < dk4; r4++) {
    phi_q[r4] = feature_map(vec4<f32>(q[q_offset + r4]));
    denominator += dot(phi_q[r4], state[slot + 4u * dk4 * dk4 + r4]);
  }
  for (var c = 0u; c < dk4; c++) {
    numerator[c] = vec4<f32>(0.0);
  }
  for (var r4 = 0u; r4 < dk4; r4++) {
    let p = phi_q[r4];
    let row = slot + 4u * r4 * dk4;
    for (var c = 0u; c < dk4; c++) {
      numerator[c] += p.x * state[row + c] + p.y * state[row + dk4 + c] +
        p.z * state[row + 2u * dk4 + c] + p.w * state[row + 3u * dk4 + c];
    }
  }
  if (params.causal == 1u) {
    for (var key = chunk * params.chunk; key <= query; key++) {
      let k_offset = (sequence * params.n + key) * params.kv_stride4 + kv_head * dk4;
      var weight = 0.0;
      for (var r4 = 0u; r4 < dk4; r4++) {
        weight += dot(phi_q[r4], feature_map(vec4<f32>(k[k_offset + r4])));
      }
      for (var c = 0u; c < dk4; c++) {
        numerator[c] += weight * vec4<f32>(v[k_offset + c]);
      }
      denominator += weight;
    }
  }
  let inverse = 1.0 / denominator;
  for (var c = 0u; c < dk4; c++) {
    concat[q_offset + c] = vec4<Stored>(numerator[c] * inverse);
  }
}
