// weighted_values, common part of both layouts (included by weighted_values.wgsl and
// weighted_values_tiled.wgsl): o_h = p_h · v_g for the slabs and query rows of one probability
// window (score_window.wgsl), written into the head's columns of the concatenated heads
// [batch·n, d_model]. A block of rows steps only over the key vec4 its queries see (the lower
// triangle for causal, the band for sliding); a row's probabilities are 0 outside its key range
// (softmax.wgsl), and a key vec4 outside the row's stored band reads as 0. Keys are clamped to
// n − 1, so masked keys multiply a finite value by 0. Blocks are mat4x4 accumulators, as in
// projection_common.wgsl.
//
// Host-checked requirements: d_k % 4 == 0.
//#include score_window.wgsl
/** register blocks of four rows, and of four columns (keys), per invocation */
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;

@group(0) @binding(1) var<storage, read> probs: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> concat: array<vec4<Stored>>;

/** Probabilities of row (z, local_row) (clamped to the window) for keys 4·key_vec … +3. */
fn load_probs(z: u32, local_row: u32, key_vec: u32) -> vec4<f32> {
  let row = min(local_row, params.window_rows - 1u);
  let value = vec4<f32>(probs[score_index(z, row, key_vec)]);
  return select(vec4<f32>(0.0), value, stores_vec(row, key_vec));
}

fn load_v(index: u32) -> vec4<f32> {
  return vec4<f32>(v[index]);
}

/** Key vec4 [first, end) that rows first_local_row … last_local_row see. */
fn key_vec_range(first_local_row: u32, last_local_row: u32) -> vec2<u32> {
  let last = min(last_local_row, params.window_rows - 1u);
  return vec2<u32>(
    key_start(params.first_row + first_local_row) / 4u,
    (key_end(params.first_row + last) + 3u) / 4u,
  );
}

fn store_block(slab: u32, first_local_row: u32, head_col: u32, block: mat4x4<f32>) {
  if (head_col >= params.head_dim4) {
    return;
  }
  for (var r = 0u; r < 4u; r++) {
    let local_row = first_local_row + r;
    if (local_row < params.window_rows) {
      concat[query_offset(slab, params.first_row + local_row) + head_col] = vec4<Stored>(block[r]);
    }
  }
}
