// naive_backward, common part of its kernels (put before naive_backward_ds.wgsl,
// naive_backward_dq.wgsl or naive_backward_dkdv.wgsl): the textbook backward of softmax attention
// on the probabilities P the naive forward stored, one score window at a time, in the forward's
// layout (score_window.wgsl: per (sequence, head) slab one row per query of `row_vecs` vec4; a
// stored element outside the query's keys may hold anything, so every P read is masked):
//
//   ds:   dS = P ⊙ (dP − D)/√d_k with dP = dO·Vᵀ, into windows of the same layout (D: the row_dot
//         kernel's rowsum(dO ⊙ O), flash_backward_row_dot.wgsl);
//   dq:   dQ = dS·K for the window's rows;
//   dkdv: dV = Pᵀ·dO and dK = dSᵀ·Q for the window's rows, added over windows and over the query
//         heads that share a kv head.
//
// Gradients go into `grads` [batch·n, d_model + 2·kv_width] (dQ | dK | dV), as the fused
// backward's. Host-checked requirement: HEAD_BLOCKS == d_k / 4.
//#include score_window.wgsl

const HEAD_BLOCKS: u32 = {{HEAD_BLOCKS}}u;

@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read> d_o: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read> row_dot: array<f32>;
@group(0) @binding(6) var<storage, read> probabilities: array<vec4<Stored>>;
@group(0) @binding(7) var<storage, read_write> d_scores: array<vec4<Stored>>;
@group(0) @binding(8) var<storage, read_write> grads: array<vec4<Stored>>;

/** Row stride of `grads`, in vec4. */
fn grad_width4() -> u32 {
  return params.d_model4 + 2u * params.kv_model4;
}

/** P (or, from d_scores, dS) of window row (z, local_row) at key vec4 `key_vec`: 0 where masked. */
fn masked_load(from_scores: bool, z: u32, local_row: u32, key_vec: u32) -> vec4<f32> {
  let index = score_index(z, local_row, key_vec);
  let stored = select(vec4<f32>(probabilities[index]), vec4<f32>(d_scores[index]), from_scores);
  let seen = key_mask(params.first_row + local_row, four_keys(4u * key_vec)) &
    vec4<bool>(local_row < params.window_rows);
  return select(vec4<f32>(0.0), stored, seen);
}
