// flash_epilogue: the end of both flash_attention layouts' main, included there: each query's
// accumulator divided by its softmax sum, stored into its head's columns, and its log-sum-exp.
//#unroll i QUERY_BLOCKS
let inverse_sum_{i} = 1.0 / l_{i};
store_lse(wid.z, wid.y, first_query + {i}u * 4u, m_{i}, l_{i});
//#unroll d HEAD_BLOCKS
store_block(sequence_row, first_query + {i}u * 4u, q_col + {d}u, o_{i}_{d}, inverse_sum_{i});
//#end
//#end
