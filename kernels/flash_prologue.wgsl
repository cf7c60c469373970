// flash_prologue: the start of both flash_attention layouts' main, included there: the head, its
// kv head and sequence, the invocation's queries (pre-scaled q rows in registers), the online
// softmax's zeroed accumulators, running maxima and sums, and the keys that the workgroup's
// queries see, [group_start_key, group_end_key): a uniform range (it depends on the workgroup
// only), so loops over it load the same keys in every invocation — one broadcast load where
// invocations run in SIMD lanes (lavapipe), and barriers stay in uniform control flow.
let sequence_row = wid.z * params.n;
let group_first_query = wid.x * 4u * QUERY_BLOCKS * WORKGROUP_SIZE;
let group_last_query = min(group_first_query + 4u * QUERY_BLOCKS * WORKGROUP_SIZE - 1u, params.n - 1u);
let group_start_key = key_start(group_first_query);
let group_end_key = key_end(group_last_query);
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
