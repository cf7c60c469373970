// softmax: each row of a score window becomes max-subtracted softmax probabilities, in place:
// p_j = exp(s_j − max s) / Σ exp(s_j − max s) over the n keys. Padding columns (keys n…n_pad−1)
// become 0, so the weighted-values stage can read whole vec4s.
//
// One invocation per row, three passes over it (max; exponentials and their sum; scale). Rows are
// `n_pad4` vec4 long; the window holds `rows` of them (see scores.wgsl).

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;

struct Params {
  n: u32,
  n_pad4: u32,
  rows: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> scores: array<vec4<Stored>>;

fn load_scores(index: u32) -> vec4<f32> {
  return vec4<f32>(scores[index]);
}

/** Which of the four keys of vec4 `v` exist (key index < n). */
fn valid_keys(v: u32) -> vec4<bool> {
  return vec4<u32>(4u * v) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.n);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.n_pad4;
  let full_vecs = params.n / 4u;
  let lowest = vec4<f32>(-3.0e38);
  var max4 = lowest;
  for (var v = 0u; v < full_vecs; v++) {
    max4 = max(max4, load_scores(base + v));
  }
  if (full_vecs < params.n_pad4) {
    max4 = max(max4, select(lowest, load_scores(base + full_vecs), valid_keys(full_vecs)));
  }
  let row_max = max(max(max4.x, max4.y), max(max4.z, max4.w));
  var sum4 = vec4<f32>(0.0);
  for (var v = 0u; v < params.n_pad4; v++) {
    let e = select(vec4<f32>(0.0), exp(load_scores(base + v) - row_max), valid_keys(v));
    scores[base + v] = vec4<Stored>(e);
    sum4 += e;
  }
  let inverse_sum = 1.0 / (sum4.x + sum4.y + sum4.z + sum4.w);
  for (var v = 0u; v < params.n_pad4; v++) {
    scores[base + v] = vec4<Stored>(load_scores(base + v) * inverse_sum);
  }
}
