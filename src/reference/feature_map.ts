/**
 * The feature map of linear attention as a WebAssembly SIMD kernel: φ(x) = elu(x) + 1, that is
 * x + 1 for x > 0 and eˣ otherwise (Katharopoulos et al., 2020), with the softmax kernel's exp
 * (Cephes, ≈ 1 ulp; arguments below −87.34 give 1.2e−38 instead of 0).
 *
 * The output is written as the input's layout or transposed: linear attention needs φ(K)ᵀ as the
 * row-major left operand of S = φ(K)ᵀ·V. A row's tail (cols mod 4) goes through the same vector
 * code, one lane used, so every element gets the same arithmetic.
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
  ifThen,
  type Local,
  type ModuleBuilder,
  set,
  v128,
  ValType,
} from "./wasm_emitter.ts";
import { VectorExp } from "./softmax.ts";

/** The feature-map kernel a module exports, as JavaScript sees it. */
export interface FeatureMapExports {
  /**
   * dst = φ(src) for `rows` × `cols` f32 at byte address `src` (row stride ld f32), written at
   * `dst` with row stride ldDst, or transposed (dst[c·ldDst + r]) when `transposed` is 1. In
   * place (dst = src, same stride, not transposed) is allowed.
   */
  featureMap(
    src: number,
    rows: number,
    cols: number,
    ld: number,
    dst: number,
    ldDst: number,
    transposed: number,
  ): void;
}

const { I32, V128 } = ValType;

function defineFeatureMap(): FunctionBuilder {
  const fn = new FunctionBuilder("featureMap", [I32, I32, I32, I32, I32, I32, I32]);
  const [src, rows, cols, ld, dst, ldDst, transposed] = fn.params as [
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
  ];
  const r = fn.local(I32), j = fn.local(I32), vectorEnd = fn.local(I32);
  const x = fn.local(V128), plusOne = fn.local(V128), positive = fn.local(V128);
  const one = fn.local(V128), zero = fn.local(V128);
  const exp = new VectorExp(fn);
  const elementAddress = (base: Local, row: Code, column: Code, stride: Local): Code =>
    i32.add(get(base), i32.mul(i32.add(i32.mul(row, get(stride)), column), i32.constant(4)));
  const sourceAt = () => elementAddress(src, get(r), get(j), ld);
  // φ of the vector in x, left in x
  const apply: Code[] = [
    set(plusOne, f32x4.add(get(x), get(one))),
    set(positive, f32x4.lt(get(zero), get(x))),
    set(x, v128.bitselect(get(plusOne), exp.apply(x), get(positive))),
  ];
  const storeLane = (lane: number): Code =>
    f32.store(
      elementAddress(dst, i32.add(get(j), i32.constant(lane)), get(r), ldDst),
      f32x4.extractLane(get(x), lane),
    );
  return fn.body(
    exp.initialise(),
    set(one, f32x4.constant(1)),
    set(zero, v128.zero()),
    set(vectorEnd, i32.and(get(cols), i32.constant(-4))),
    forRange(
      r,
      i32.constant(0),
      get(rows),
      1,
      forRange(
        j,
        i32.constant(0),
        get(vectorEnd),
        4,
        set(x, v128.load(sourceAt())),
        ...apply,
        ifThen(get(transposed), [0, 1, 2, 3].map(storeLane), [
          v128.store(elementAddress(dst, get(r), get(j), ldDst), get(x)),
        ]),
      ),
      forRange(
        j,
        get(vectorEnd),
        get(cols),
        1,
        set(x, f32x4.splat(f32.load(sourceAt()))),
        ...apply,
        ifThen(get(transposed), [storeLane(0)], [
          f32.store(elementAddress(dst, get(r), get(j), ldDst), f32x4.extractLane(get(x), 0)),
        ]),
      ),
    ),
  );
}

/** Add the feature-map kernel (`featureMap`) to a module. */
export function addFeatureMapKernel(module: ModuleBuilder): void {
  module.add(defineFeatureMap());
}
