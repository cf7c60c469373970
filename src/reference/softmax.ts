/**
 * Row softmax of the CPU path as a WebAssembly SIMD kernel: each row is replaced, in place, by
 * exp(s − max(s)) / Σ exp(s − max(s)).
 *
 * exp is Cephes' single-precision algorithm (≈ 1 ulp): round x·log₂e to an integer n, reduce
 * x − n·ln 2 in two parts (Cody–Waite), a degree-6 polynomial, then scale by 2ⁿ built in the
 * exponent bits. Arguments are clamped at −87.34, where exp reaches the smallest normal f32
 * (1.2e−38): a key that far below the row maximum weighs ≤ 1.2e−38 instead of 0. The rounding
 * uses the 1.5·2²³ "magic number" (adding it rounds to an integer that then sits in the low
 * mantissa bits), cheaper than `nearest` plus a saturating conversion; max and clamp use `pmax`,
 * one instruction where `max` needs several for its NaN and ±0 rules.
 *
 * The tail of a row (n mod 4 elements) goes through the same vector code, one lane used, so every
 * element gets bit-identical arithmetic; each row's sum is four lane partial sums combined in a
 * fixed order, then the tail: the result depends on the row alone.
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
  i32x4,
  type Local,
  type ModuleBuilder,
  seq,
  set,
  v128,
  ValType,
} from "./wasm_emitter.ts";

/** The softmax kernel a module exports, as JavaScript sees it. */
export interface SoftmaxExports {
  /** Softmax, in place, of `rows` rows of n f32 starting at byte address `s`, row stride ld f32. */
  softmaxRows(s: number, rows: number, n: number, ld: number): void;
}

const { I32, V128 } = ValType;

const EXP_LOWEST_ARGUMENT = -87.33654; // ln(2⁻¹²⁶): exp of anything lower is not a normal f32
const LOG2E = 1.44269504088896341;
const ROUNDING_MAGIC = 12582912; // 1.5·2²³: x + magic rounds x to an integer (|x| < 2²²)
const LN2_HIGH = 0.693359375; // exact in 9 bits, so n·LN2_HIGH is exact
const LN2_LOW = -2.12194440e-4;
const EXP_POLYNOMIAL = [
  1.9875691500e-4,
  1.3981999507e-3,
  8.3334519073e-3,
  4.1665795894e-2,
  1.6666665459e-1,
  5.0000001201e-1,
];

/**
 * The vector exp of one function: its constants live in v128 locals set once per call (V8 does
 * not hoist `v128.const` out of loops, and materialising one costs several instructions).
 */
export class VectorExp {
  readonly #constants = new Map<number, Local>();
  readonly #bias: Local;
  readonly #shifted: Local;
  readonly #n: Local;
  readonly #poly: Local;

  constructor(fn: FunctionBuilder) {
    const values = [
      EXP_LOWEST_ARGUMENT,
      LOG2E,
      ROUNDING_MAGIC,
      LN2_HIGH,
      LN2_LOW,
      1,
      ...EXP_POLYNOMIAL,
    ];
    for (const value of values) this.#constants.set(value, fn.local(V128));
    this.#bias = fn.local(V128);
    this.#shifted = fn.local(V128);
    this.#n = fn.local(V128);
    this.#poly = fn.local(V128);
  }

  /** Set the constant locals; run once before the first {@link VectorExp.apply}. */
  initialise(): Code {
    const constants = [...this.#constants].map(([value, local]) =>
      set(local, f32x4.constant(value))
    );
    return seq(...constants, set(this.#bias, i32x4.constant(127)));
  }

  /** Code that leaves exp(`x`) lanewise on the stack; overwrites `x`. */
  apply(x: Local): Code {
    const c = (value: number) => get(this.#constants.get(value)!);
    const shifted = this.#shifted, n = this.#n, poly = this.#poly;
    const [firstCoefficient, ...coefficients] = EXP_POLYNOMIAL as [number, ...number[]];
    const horner: Code[] = [set(poly, c(firstCoefficient))];
    for (const coefficient of coefficients) {
      horner.push(set(poly, f32x4.add(f32x4.mul(get(poly), get(x)), c(coefficient))));
    }
    // the bits of n + magic are those of magic plus n: (bits + 127) << 23 keeps n + 127, the
    // biased exponent of 2ⁿ, and shifts magic's own bits out
    const exponentBits = i32x4.shl(i32x4.add(get(shifted), get(this.#bias)), i32.constant(23));
    return seq(
      set(x, f32x4.pmax(get(x), c(EXP_LOWEST_ARGUMENT))),
      set(shifted, f32x4.add(f32x4.mul(get(x), c(LOG2E)), c(ROUNDING_MAGIC))),
      set(n, f32x4.sub(get(shifted), c(ROUNDING_MAGIC))),
      set(x, f32x4.sub(get(x), f32x4.mul(get(n), c(LN2_HIGH)))),
      set(x, f32x4.sub(get(x), f32x4.mul(get(n), c(LN2_LOW)))),
      ...horner,
      // e^x ≈ poly·x² + x + 1, times 2ⁿ
      f32x4.mul(
        f32x4.add(f32x4.add(f32x4.mul(get(poly), f32x4.mul(get(x), get(x))), get(x)), c(1)),
        exponentBits,
      ),
    );
  }
}

function defineSoftmaxRows(): FunctionBuilder {
  const fn = new FunctionBuilder("softmaxRows", [I32, I32, I32, I32]);
  const [s, rows, n, ld] = fn.params as [Local, Local, Local, Local];
  const r = fn.local(I32), j = fn.local(I32), row = fn.local(I32), vectorEnd = fn.local(I32);
  const address = fn.local(I32);
  const maximum = fn.local(ValType.F32), sum = fn.local(ValType.F32);
  const maximumVector = fn.local(V128);
  const vector = fn.local(V128), x = fn.local(V128);
  const exp = new VectorExp(fn);
  const lanes = (v: Local, combine: (a: Code, b: Code) => Code) =>
    combine(
      combine(f32x4.extractLane(get(v), 0), f32x4.extractLane(get(v), 1)),
      combine(f32x4.extractLane(get(v), 2), f32x4.extractLane(get(v), 3)),
    );
  const at = (): Code => i32.add(get(row), i32.mul(get(j), i32.constant(4)));
  const body = (vectorStep: Code[], tailStep: Code[]) => [
    forRange(j, i32.constant(0), get(vectorEnd), 4, set(address, at()), ...vectorStep),
    forRange(j, get(vectorEnd), get(n), 1, set(address, at()), ...tailStep),
  ];

  return fn.body(
    exp.initialise(),
    set(vectorEnd, i32.and(get(n), i32.constant(-4))),
    forRange(
      r,
      i32.constant(0),
      get(rows),
      1,
      set(row, i32.add(get(s), i32.mul(i32.mul(get(r), get(ld)), i32.constant(4)))),
      // row maximum
      set(vector, f32x4.splat(f32.constant(-Infinity))),
      ...body([set(vector, f32x4.pmax(get(vector), v128.load(get(address))))], []),
      set(maximum, lanes(vector, f32.max)),
      ...body([], [set(maximum, f32.max(get(maximum), f32.load(get(address))))]),
      // exponentials and their sum
      set(maximumVector, f32x4.splat(get(maximum))),
      set(vector, v128.zero()),
      ...body([
        set(x, f32x4.sub(v128.load(get(address)), get(maximumVector))),
        set(x, exp.apply(x)),
        v128.store(get(address), get(x)),
        set(vector, f32x4.add(get(vector), get(x))),
      ], []),
      set(sum, lanes(vector, f32.add)),
      ...body([], [
        set(x, f32x4.splat(f32.sub(f32.load(get(address)), get(maximum)))),
        set(x, exp.apply(x)),
        f32.store(get(address), f32x4.extractLane(get(x), 0)),
        set(sum, f32.add(get(sum), f32x4.extractLane(get(x), 0))),
      ]),
      // normalise
      set(sum, f32.div(f32.constant(1), get(sum))),
      set(vector, f32x4.splat(get(sum))),
      ...body(
        [v128.store(get(address), f32x4.mul(v128.load(get(address)), get(vector)))],
        [f32.store(get(address), f32.mul(f32.load(get(address)), get(sum)))],
      ),
    ),
  );
}

/** Add the softmax kernel (`softmaxRows`) to a module. */
export function addSoftmaxKernel(module: ModuleBuilder): void {
  module.add(defineSoftmaxRows());
}
