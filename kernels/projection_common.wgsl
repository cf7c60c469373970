// projection, common part of both layouts (included by projection.wgsl and projection_tiled.wgsl):
// out = a · b + bias, with a [rows, inner] and b [inner, cols] stored [in, out], row-major
// (q = x @ w_q + b_q). The columns can be split into three outputs — the first `q_cols` columns,
// then two of `kv_cols` — so Q, K and V come out of one dispatch (b = [w_q | w_k | w_v], K and V
// kv_heads·d_k wide under grouped-query attention); the output projection has one part (kv_cols
// 0). Every invocation accumulates mat4x4 blocks: column r of a block is output row r's four
// columns.
//
// Host-checked requirements: inner % 4 == 0, q_cols % 4 == 0, kv_cols % 4 == 0,
// cols == q_cols + 2·kv_cols.
// Rows past `rows` and columns past `cols` are clamped on load and never stored.

// `Stored` (f32 or f16) and, for f16, `enable f16;` come from the precision prelude that
// src/gpu/kernels.ts puts before this file: storage holds Stored, arithmetic is f32.
override WORKGROUP_SIZE: u32 = 8u;
/** register blocks of four rows, and of four columns (keys), per invocation */
const ROW_BLOCKS: u32 = {{ROW_BLOCKS}}u;
const COL_BLOCKS: u32 = {{COL_BLOCKS}}u;

struct Params {
  rows: u32,
  inner: u32,
  cols: u32,
  q_cols: u32,
  kv_cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<Stored>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<Stored>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<Stored>>;
@group(0) @binding(4) var<storage, read_write> out0: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read_write> out1: array<vec4<Stored>>;
@group(0) @binding(6) var<storage, read_write> out2: array<vec4<Stored>>;

fn load_a(index: u32) -> vec4<f32> {
  return vec4<f32>(a[index]);
}

fn load_b(index: u32) -> vec4<f32> {
  return vec4<f32>(b[index]);
}

/** Add the bias and store one accumulator block; masked rows and columns are not written. */
fn store_block(first_row: u32, col: u32, block: mat4x4<f32>) {
  if (col >= params.cols / 4u) {
    return;
  }
  let bias_col = vec4<f32>(bias[col]);
  let q_vecs = params.q_cols / 4u;
  let kv_vecs = params.kv_cols / 4u;
  let part = select(select(2u, 1u, col < q_vecs + kv_vecs), 0u, col < q_vecs);
  let part_vecs = select(kv_vecs, q_vecs, part == 0u);
  let part_col = col - select(q_vecs + (part - 1u) * kv_vecs, 0u, part == 0u);
  for (var r = 0u; r < 4u; r++) {
    let row = first_row + r;
    if (row < params.rows) {
      let index = row * part_vecs + part_col;
      let value = vec4<Stored>(block[r] + bias_col);
      switch part {
        case 0u: {
          out0[index] = value;
        }
        case 1u: {
          out1[index] = value;
        }
        default: {
          out2[index] = value;
        }
      }
    }
  }
}

