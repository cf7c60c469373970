// flash_step: one step of the online softmax over 4·KEY_BLOCKS keys, included inside the key loop
// of both flash_attention layouts. Needs, per key block j: `keys_j` (the four key indices) and
// `k_rows_j` (where step_k and step_v find their rows); per query block i: q_i_d, o_i_d, m_i, l_i;
// and first_query.
//#unroll i QUERY_BLOCKS
//#unroll j KEY_BLOCKS
var s_{i}_{j} = mat4x4<f32>();
//#end
//#end
//#unroll j KEY_BLOCKS
//#unroll d HEAD_BLOCKS
let k_{j}_{d} = transpose(step_k(k_rows_{j} + vec4<u32>({d}u)));
//#unroll i QUERY_BLOCKS
s_{i}_{j} += k_{j}_{d} * q_{i}_{d};
//#end
//#end
//#end
//#unroll i QUERY_BLOCKS
var m_new_{i} = m_{i};
//#unroll j KEY_BLOCKS
s_{i}_{j} = mask_scores(s_{i}_{j}, first_query + {i}u * 4u, keys_{j});
m_new_{i} = max(m_new_{i}, column_max(s_{i}_{j}));
//#end
let alpha_{i} = exp(m_{i} - m_new_{i});
m_{i} = m_new_{i};
l_{i} *= alpha_{i};
//#unroll j KEY_BLOCKS
let p_{i}_{j} = probabilities(s_{i}_{j}, m_new_{i});
l_{i} += column_sum(p_{i}_{j});
//#end
//#end
//#unroll d HEAD_BLOCKS
//#unroll i QUERY_BLOCKS
o_{i}_{d} = scale_columns(o_{i}_{d}, alpha_{i});
//#end
//#unroll j KEY_BLOCKS
let v_{j}_{d} = step_v(k_rows_{j} + vec4<u32>({d}u));
//#unroll i QUERY_BLOCKS
o_{i}_{d} += v_{j}_{d} * p_{i}_{j};
//#end
//#end
//#end
