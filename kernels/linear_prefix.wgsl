// linear_prefix (causal mask only): each chunk's state slot becomes
// the sum of the slots before it (an exclusive prefix sum over chunks), in place. One invocation
// per vec4 of a slot, walking the chunks in order. Grid: x over a slot's vec4, z over sequences ×
// kv heads.
//#include linear_common.wgsl

@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot_size = slot_vec4();
  if (gid.x >= slot_size) {
    return;
  }
  let first = gid.z * params.chunks * slot_size + gid.x;
  var running = vec4<f32>(0.0);
  for (var chunk = 0u; chunk < params.chunks; chunk++) {
    let index = first + chunk * slot_size;
    let this_chunk = state[index];
    if (params.causal == 1u) {
      state[index] = running;
    }
    running += this_chunk;
  }
  if (params.causal == 0u) {
    state[first] = running;
  }
}
