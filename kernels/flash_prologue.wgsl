// flash_prologue: the start of both flash_attention layouts' main, included there: the head, its
// kv head and sequence, the invocation's queries (pre-scaled q rows in registers), and the online
// softmax's zeroed accumulators, running maxima and sums.
let sequence_row = wid.z * params.n;
let q_col = wid.y * HEAD_BLOCKS;
let kv_col = (wid.y / params.group) * HEAD_BLOCKS;
let first_query = gid.x * 4u * QUERY_BLOCKS;
let last_query = min(first_query + 4u * QUERY_BLOCKS - 1u, params.n - 1u);
//#unroll i QUERY_BLOCKS
let q_rows_{i} = (vec4<u32>(sequence_row) + clamped_rows(first_query + {i}u * 4u)) * params.d_model4 + vec4<u32>(q_col);
//#unroll d HEAD_BLOCKS
let q_{i}_{d} = load_q(q_rows_{i} + vec4<u32>({d}u)) * params.scale;
var o_{i}_{d} = mat4x4<f32>();
//#end
var m_{i} = vec4<f32>(LOWEST);
var l_{i} = vec4<f32>(0.0);
//#end
