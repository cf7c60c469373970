// scores, common part of both layouts (included by scores.wgsl and scores_tiled.wgsl):
// s = q_h · k_gᵀ / √d_k for the slabs and query rows of one score window (score_window.wgsl).
//
// Blocks are mat4x4 accumulators (column r: query r's scores against four keys), each step along
// the head dimension adding transpose(k_j) · q_i. A workgroup's keys start at the first stored key
// of its first query (0 unless sliding), so the grid's key dimension covers only the stored band;
// a block whose keys lie wholly outside its queries' ranges (above the diagonal for causal) is not
// computed. Elements of a stored vec4 outside a query's range get finite values that the softmax
// masks.
//
// Host-checked requirements: d_k % 4 == 0. Queries and keys past the end are clamped on load and
// never stored.
//#include score_window.wgsl
/** register blocks of four rows, and of four columns (keys), per invocation */
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const KEY_BLOCKS: u32 = {{KEY_BLOCKS}}u;

@group(0) @binding(1) var<storage, read> q: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read_write> scores: array<vec4<Stored>>;

fn load_q(index: u32) -> vec4<f32> {
  return vec4<f32>(q[index]);
}

fn load_k(index: u32) -> vec4<f32> {
  return vec4<f32>(k[index]);
}

/** The first key of the workgroup's keys: block `key_group` of the band of query `first_query`. */
fn group_first_key(first_query: u32, key_group: u32, keys_per_group: u32) -> u32 {
  return 4u * first_stored_vec(first_query) + key_group * keys_per_group;
}

/** Whether keys first_key … first_key + key_count − 1 meet the range of a query in [first, last]. */
fn meets_mask(first_query: u32, last_query: u32, first_key: u32, key_count: u32) -> bool {
  return first_key < key_end(last_query) && first_key + key_count > key_start(first_query);
}

fn store_block(z: u32, first_local_row: u32, key_vec: u32, block: mat4x4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    let local_row = first_local_row + r;
    if (stores_vec(local_row, key_vec)) {
      scores[score_index(z, local_row, key_vec)] = vec4<Stored>(block[r] * params.scale);
    }
  }
}
