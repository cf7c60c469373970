// softmax: each row of a score window becomes max-subtracted softmax probabilities, in place, over
// the keys its query sees: p_j = exp(s_j − max s) / Σ exp(s_j − max s) for j in
// [key_start, key_end). Only the vec4 that hold those keys are read; every other element of the
// stored row becomes 0 (the masked part of a causal row, the band's slack), so the row holds the
// whole probability distribution over the keys.
//
// One invocation per row, three passes over its keys (max; exponentials and their sum; scale),
// then the zeros.
//#include score_window.wgsl

@group(0) @binding(1) var<storage, read_write> scores: array<vec4<Stored>>;

fn load_scores(index: u32) -> vec4<f32> {
  return vec4<f32>(scores[index]);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.window_slabs * params.window_rows) {
    return;
  }
  let z = row / params.window_rows;
  let local_row = row % params.window_rows;
  let query = params.first_row + local_row;
  let first_vec = key_start(query) / 4u;
  let end_vec = (key_end(query) + 3u) / 4u;
  let lowest = vec4<f32>(-3.0e38);
  var max4 = lowest;
  for (var v = first_vec; v < end_vec; v++) {
    let valid = key_mask(query, four_keys(4u * v));
    max4 = max(max4, select(lowest, load_scores(score_index(z, local_row, v)), valid));
  }
  let row_max = max(max(max4.x, max4.y), max(max4.z, max4.w));
  var sum4 = vec4<f32>(0.0);
  for (var v = first_vec; v < end_vec; v++) {
    let index = score_index(z, local_row, v);
    let valid = key_mask(query, four_keys(4u * v));
    let e = select(vec4<f32>(0.0), exp(load_scores(index) - row_max), valid);
    scores[index] = vec4<Stored>(e);
    sum4 += e;
  }
  let inverse_sum = 1.0 / (sum4.x + sum4.y + sum4.z + sum4.w);
  for (var v = first_vec; v < end_vec; v++) {
    let index = score_index(z, local_row, v);
    scores[index] = vec4<Stored>(load_scores(index) * inverse_sum);
  }
  let row_start = row * params.row_vecs;
  for (var slot = end_vec - first_vec; slot < params.row_vecs; slot++) {
    scores[row_start + slot] = vec4<Stored>(0.0);
  }
}
