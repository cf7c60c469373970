// mask: which keys a query sees, as the half-open range [key_start(query), key_end(query)) of key
// indices, from two uniform values (`maskBounds` in src/gpu/mask_bounds.ts), so that one kernel
// serves every mask without a branch per mask:
//
//   key_start = query + 1 − min(query + 1, behind)   (behind = W for sliding:W, else n: 0)
//   key_end   = min(n, query + ahead)                (ahead = 1 for causal and sliding, else n: n)
//
// full: [0, n); causal: [0, query + 1); sliding:W: [query + 1 − W, query + 1) clipped at 0. Keys
// past n are never inside. Needs `params` with u32 fields n, ahead and behind.

fn key_start(query: u32) -> u32 {
  return query + 1u - min(query + 1u, params.behind);
}

fn key_end(query: u32) -> u32 {
  return min(params.n, query + params.ahead);
}

/** Which of the keys `keys` query `query` sees. */
fn key_mask(query: u32, keys: vec4<u32>) -> vec4<bool> {
  return (keys >= vec4<u32>(key_start(query))) & (keys < vec4<u32>(key_end(query)));
}

/** keys first … first + 3 */
fn four_keys(first: u32) -> vec4<u32> {
  return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u);
}
