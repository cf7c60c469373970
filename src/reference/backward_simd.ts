/**
 * The WebAssembly kernels the CPU backward adds to the forward's (matmul, softmax): the softmax
 * backward of a block of rows, and a transpose. Both are memory-bound; what matters is that they
 * touch each element once, in order, four lanes at a time where the layout allows.
 *
 * Addresses are byte offsets into the shared memory; sizes and leading dimensions are in f32.
 *
 * @module
 */

import {
  type Code,
  f32,
  f32x4,
  forRange,
  FunctionBuilder,
  get,
  i32,
  type Local,
  ModuleBuilder,
  set,
  v128,
  ValType,
} from "./wasm_emitter.ts";
import { MAX_WASM_PAGES } from "./memory_layout.ts";

/** The backward's own kernels, as JavaScript sees them. */
export interface BackwardSimdExports {
  /**
   * dS = P ⊙ (dP − D) in place of dP, for `rows` rows of n f32 (row stride ld) at byte addresses
   * `p` and `dp`; D is one f32 per row at `rowDots` (rowsum(dO ⊙ O) of that row).
   */
  softmaxBackwardRows(
    p: number,
    dp: number,
    rowDots: number,
    rows: number,
    n: number,
    ld: number,
  ): void;
  /** dst[c·ldDst + r] = src[r·ld + c] for r < rows, c < cols. */
  transpose(src: number, ld: number, rows: number, cols: number, dst: number, ldDst: number): void;
}

const { I32, V128 } = ValType;
const F32_BYTES = 4;

/** Address of element `index` (in f32) past `base`. */
function at(base: Code, index: Code): Code {
  return i32.add(base, i32.mul(index, i32.constant(F32_BYTES)));
}

function defineSoftmaxBackwardRows(): FunctionBuilder {
  const fn = new FunctionBuilder("softmaxBackwardRows", [I32, I32, I32, I32, I32, I32]);
  const [p, dp, rowDots, rows, n, ld] = fn.params as [Local, Local, Local, Local, Local, Local];
  const r = fn.local(I32), j = fn.local(I32), vectorEnd = fn.local(I32);
  const pRow = fn.local(I32), dpRow = fn.local(I32), rowDot = fn.local(V128);
  const element = (row: Local) => at(get(row), get(j));
  // one step: dp[j] = p[j]·(dp[j] − D), vector or scalar
  const vectorStep = v128.store(
    element(dpRow),
    f32x4.mul(v128.load(element(pRow)), f32x4.sub(v128.load(element(dpRow)), get(rowDot))),
  );
  const scalarStep = f32.store(
    element(dpRow),
    f32.mul(
      f32.load(element(pRow)),
      f32.sub(f32.load(element(dpRow)), f32x4.extractLane(get(rowDot), 0)),
    ),
  );
  return fn.body(
    set(vectorEnd, i32.and(get(n), i32.constant(-4))),
    forRange(
      r,
      i32.constant(0),
      get(rows),
      1,
      set(pRow, at(get(p), i32.mul(get(r), get(ld)))),
      set(dpRow, at(get(dp), i32.mul(get(r), get(ld)))),
      set(rowDot, v128.load32Splat(at(get(rowDots), get(r)))),
      forRange(j, i32.constant(0), get(vectorEnd), 4, vectorStep),
      forRange(j, get(vectorEnd), get(n), 1, scalarStep),
    ),
  );
}

/** Rows of the source read together: their elements of one column land next to each other. */
const TRANSPOSE_BLOCK = 8;

function defineTranspose(): FunctionBuilder {
  const fn = new FunctionBuilder("transpose", [I32, I32, I32, I32, I32, I32]);
  const [src, ld, rows, cols, dst, ldDst] = fn.params as [Local, Local, Local, Local, Local, Local];
  const r0 = fn.local(I32), rEnd = fn.local(I32), c = fn.local(I32), r = fn.local(I32);
  return fn.body(
    forRange(
      r0,
      i32.constant(0),
      get(rows),
      TRANSPOSE_BLOCK,
      set(rEnd, i32.minS(i32.add(get(r0), i32.constant(TRANSPOSE_BLOCK)), get(rows))),
      forRange(
        c,
        i32.constant(0),
        get(cols),
        1,
        forRange(
          r,
          get(r0),
          get(rEnd),
          1,
          f32.store(
            at(get(dst), i32.add(i32.mul(get(c), get(ldDst)), get(r))),
            f32.load(at(get(src), i32.add(i32.mul(get(r), get(ld)), get(c)))),
          ),
        ),
      ),
    ),
  );
}

/** The backward's kernel module (`softmaxBackwardRows`, `transpose`), importing `env.memory`. */
export function compileBackwardSimdModule(): WebAssembly.Module {
  const module = new ModuleBuilder();
  module.add(defineSoftmaxBackwardRows());
  module.add(defineTranspose());
  return new WebAssembly.Module(module.encode(MAX_WASM_PAGES));
}

/** Instantiate the backward's kernels on a shared memory. */
export function instantiateBackwardSimd(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): BackwardSimdExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as BackwardSimdExports;
}
