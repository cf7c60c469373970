// flash_attention, workgroup-tile layout (what real GPUs want): the workgroup stages TILE_KEYS keys
// and values of its kv head in workgroup memory, every invocation loading a share (consecutive
// invocations, consecutive vec4), then each invocation runs the steps over the staged keys out of
// workgroup memory, where all invocations read the same key at once (a broadcast). Each key and
// value is read from device memory once per workgroup instead of once per invocation.
//
// The tiles span the keys that any query of the workgroup sees (flash_prologue.wgsl); within a
// tile, an invocation skips the steps that none of its own queries sees.
//
// Host-checked: TILE_KEYS is a multiple of 4·KEY_BLOCKS, and the two workgroup arrays fit the
// device's maxComputeWorkgroupStorageSize (the variant's plan). Keys past n are staged clamped and
// masked.
//#include flash_attention_common.wgsl
/** keys staged per tile */
const TILE_KEYS: u32 = {{TILE_KEYS}}u;

/** TILE_KEYS keys × HEAD_BLOCKS vec4 each, of one kv head */
var<workgroup> tile_k: array<vec4<f32>, TILE_KEYS * HEAD_BLOCKS>;
var<workgroup> tile_v: array<vec4<f32>, TILE_KEYS * HEAD_BLOCKS>;

/** Four staged rows at `offsets` (in vec4), as the columns of a matrix. */
fn step_k(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(tile_k[offsets.x], tile_k[offsets.y], tile_k[offsets.z], tile_k[offsets.w]);
}

fn step_v(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(tile_v[offsets.x], tile_v[offsets.y], tile_v[offsets.z], tile_v[offsets.w]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
) {
  //#include flash_prologue.wgsl
  let first_key = key_start(first_query);
  let end_key = key_end(last_query);
  for (var tile_first_key = group_start_key; tile_first_key < group_end_key; tile_first_key += TILE_KEYS) {
    for (var e = lane; e < TILE_KEYS * HEAD_BLOCKS; e += WORKGROUP_SIZE) {
      let key = min(tile_first_key + e / HEAD_BLOCKS, params.n - 1u);
      let offset = (sequence_row + key) * params.kv_model4 + kv_col + e % HEAD_BLOCKS;
      tile_k[e] = vec4<f32>(k[offset]);
      tile_v[e] = vec4<f32>(v[offset]);
    }
    workgroupBarrier();
    for (var step = 0u; step < TILE_KEYS; step += 4u * KEY_BLOCKS) {
      let step_first_key = tile_first_key + step;
      if (step_first_key < end_key && step_first_key + 4u * KEY_BLOCKS > first_key) {
        //#unroll j KEY_BLOCKS
        let tile_keys_{j} = four_keys(step + {j}u * 4u);
        let keys_{j} = vec4<u32>(tile_first_key) + tile_keys_{j};
        let k_rows_{j} = tile_keys_{j} * HEAD_BLOCKS;
        //#end
        //#include flash_step.wgsl
      }
    }
    workgroupBarrier();
  }
  //#include flash_epilogue.wgsl
}
