// copy: dst = src, vec4 at a time, grid-stride. The calibration's bandwidth kernel: its bytes read
// plus bytes written over its time is the most a memory-bound stage can move on this adapter.

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let stride = groups.x * WORKGROUP_SIZE;
  let count = arrayLength(&src);
  for (var i = gid.x; i < count; i += stride) {
    dst[i] = src[i];
  }
}
