// flash_attention, register layout (what a software adapter wants): each step loads its keys and
// values straight from storage, once for all 4·QUERY_BLOCKS queries of the invocation; the keys
// are the same for every invocation of the workgroup, which is what makes the kernel fast where
// per-invocation loads are expensive (lavapipe); see projection.wgsl for the choice of sizes. The
// loop runs over the keys the workgroup's queries see (one SIMD group on lavapipe: a lane that
// skipped a step would save nothing), each score masked per query.
//#include flash_attention_common.wgsl

/** Four rows of k at `offsets` (in vec4), as the columns of a matrix. */
fn step_k(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(
    vec4<f32>(k[offsets.x]),
    vec4<f32>(k[offsets.y]),
    vec4<f32>(k[offsets.z]),
    vec4<f32>(k[offsets.w]),
  );
}

/** Four rows of v at `offsets` (in vec4), as the columns of a matrix. */
fn step_v(offsets: vec4<u32>) -> mat4x4<f32> {
  return mat4x4<f32>(
    vec4<f32>(v[offsets.x]),
    vec4<f32>(v[offsets.y]),
    vec4<f32>(v[offsets.z]),
    vec4<f32>(v[offsets.w]),
  );
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  //#include flash_prologue.wgsl
  if (first_query >= params.n) {
    return;
  }
  for (var first_key = group_start_key; first_key < group_end_key; first_key += 4u * KEY_BLOCKS) {
    //#unroll j KEY_BLOCKS
    let keys_{j} = four_keys(first_key + {j}u * 4u);
    let k_rows_{j} = (vec4<u32>(sequence_row) + min(keys_{j}, vec4<u32>(params.n - 1u))) * params.kv_model4 + vec4<u32>(kv_col);
    //#end
    //#include flash_step.wgsl
  }
  //#include flash_epilogue.wgsl
}
