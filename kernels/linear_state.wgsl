// linear_state, after linear_common.wgsl: S and z of one chunk of keys of one kv head of one
// sequence. Each invocation owns four rows (φ(k) dimensions 4·row_block … +3) of one vec4
// column of S (and, in column 0, the same four entries of z), and walks the chunk's keys.
// Grid: x over row blocks × column vec4s, y over chunks, z over sequences × kv heads.

@group(0) @binding(1) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> state: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let dk4 = params.head_dim4;
  if (gid.x >= dk4 * dk4) {
    return;
  }
  let row_block = gid.x / dk4;
  let col = gid.x % dk4;
  let kv_heads = params.kv_stride4 / dk4;
  let sequence = gid.z / kv_heads;
  let kv_head = gid.z % kv_heads;
  let chunk = gid.y;
  let first_key = chunk * params.chunk;
  let end_key = min(params.n, first_key + params.chunk);
  let column_offset = kv_head * dk4;
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var s3 = vec4<f32>(0.0);
  var z = vec4<f32>(0.0);
  for (var key = first_key; key < end_key; key++) {
    let row = (sequence * params.n + key) * params.kv_stride4 + column_offset;
    let phi_k = feature_map(vec4<f32>(k[row + row_block]));
    let value = vec4<f32>(v[row + col]);
    s0 += phi_k.x * value;
    s1 += phi_k.y * value;
    s2 += phi_k.z * value;
    s3 += phi_k.w * value;
    z += phi_k;
  }
  let slot = ((sequence * kv_heads + kv_head) * params.chunks + chunk) * slot_vec4();
  let first_row = 4u * row_block;
  state[slot + (first_row + 0u) * dk4 + col] = s0;
  state[slot + (first_row + 1u) * dk4 + col] = s1;
  state[slot + (first_row + 2u) * dk4 + col] = s2;
  state[slot + (first_row + 3u) * dk4 + col] = s3;
  if (col == 0u) {
    state[slot + 4u * dk4 * dk4 + row_block] = z;
  }
}
