// naive_backward, common part of its kernels (put before naive_backward_ds.wgsl,
// naive_backward_dq.wgsl or naive_backward_dkdv.wgsl): the textbook backward of softmax attention
// on the probabilities P the naive forward stored, one score window at a time (the forward's
// windows: several whole heads, or a range of query rows of one head; row (z, r) of a window is
// query first_row + r of head first_head + z, rows of n_pad4 vec4, padding probabilities 0).
//
//   ds:   dS = P ⊙ (dP − D)/√d_k with dP = dO·Vᵀ, into a window of the same shape (D: the row_dot
//         kernel's rowsum(dO ⊙ O), flash_backward_row_dot.wgsl);
//   dq:   dQ = dS·K for the window's rows;
//   dkdv: dV = Pᵀ·dO and dK = dSᵀ·Q for the window's rows, added over windows and over the query
//         heads that share a kv head.
//
// Gradients go into `grads` [batch·n, grad_width] (dQ | dK | dV), as the fused backward's.
// Host-checked requirements: HEAD_BLOCKS == d_k / 4; batch 1 (the forward's windows are of one
// sequence). Rows and keys past the end are clamped on load and never stored.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;
const HEAD_BLOCKS: u32 = {{HEAD_BLOCKS}}u;

struct Params {
  n: u32,
  n_pad4: u32,
  /** query heads per kv head */
  group: u32,
  d_model4: u32,
  kv_width4: u32,
  grad_width4: u32,
  first_head: u32,
  first_row: u32,
  window_heads: u32,
  window_rows: u32,
  heads: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read> d_o: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read> row_dot: array<f32>;
@group(0) @binding(6) var<storage, read> probabilities: array<vec4<Stored>>;
@group(0) @binding(7) var<storage, read_write> d_scores: array<vec4<Stored>>;
@group(0) @binding(8) var<storage, read_write> grads: array<vec4<Stored>>;

/** Four vec4 of a storage array at `offsets`, as the columns of a matrix. */
fn load_rows(which: u32, offsets: vec4<u32>) -> mat4x4<f32> {
  switch which {
    case 0u: {
      return mat4x4<f32>(vec4<f32>(q[offsets.x]), vec4<f32>(q[offsets.y]), vec4<f32>(q[offsets.z]), vec4<f32>(q[offsets.w]));
    }
    case 1u: {
      return mat4x4<f32>(vec4<f32>(k[offsets.x]), vec4<f32>(k[offsets.y]), vec4<f32>(k[offsets.z]), vec4<f32>(k[offsets.w]));
    }
    case 2u: {
      return mat4x4<f32>(vec4<f32>(v[offsets.x]), vec4<f32>(v[offsets.y]), vec4<f32>(v[offsets.z]), vec4<f32>(v[offsets.w]));
    }
    default: {
      return mat4x4<f32>(vec4<f32>(d_o[offsets.x]), vec4<f32>(d_o[offsets.y]), vec4<f32>(d_o[offsets.z]), vec4<f32>(d_o[offsets.w]));
    }
  }
}

const Q: u32 = 0u;
const K: u32 = 1u;
const V: u32 = 2u;
const D_O: u32 = 3u;

/** Rows first … first + 3, clamped to `last`. */
fn clamped(first: u32, last: u32) -> vec4<u32> {
  return min(vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last));
}
