/**
 * The matrix product of the CPU path, as WebAssembly SIMD kernels: C = scale · (A @ B) + bias.
 *
 * B is packed once into panels of {@link NR} columns ({@link MatmulExports.packB}, GotoBLAS
 * style), walked in blocks of {@link KC} rows; A is read in place. A micro-kernel keeps an MR × NR
 * tile of C in eight f32x4 registers while it walks the shared depth, eight k steps per loop
 * iteration. Each panel holds all k rows, so a range of B's rows or of its panels is itself a
 * packed matrix: masked attention multiplies by the keys it needs without packing them again.
 *
 * Versions, one thread of the 2-core Zen 5 machine (matmuls of the attention's shapes):
 * 1. scalar JavaScript on typed arrays, any register block from 1×8 to 6×4: ≤ 5.9 GFLOP/s, capped
 *    by bounds-checked scalar loads and two scalar ops per multiply-accumulate;
 * 2. WebAssembly, 4 × 8 f32x4 micro-kernel, A and B packed: 30–36 GFLOP/s;
 * 3. A read in place instead of packed: same speed, one kernel and one scratch buffer fewer;
 * 4. k loop unrolled ×8 (constant address offsets): 40–44 GFLOP/s. 5 × 8 and 2 × 16 blocks ran
 *    within noise of 4 × 8; 6 × 8 and 3 × 16 spill registers (−25 %); B read in place −12 %.
 *
 * Summation order: every element of C is one f32 running sum over k in increasing order, whatever
 * the tile, block or row range it falls in, so the result does not depend on how rows are split
 * over workers (byte-identical for any worker count).
 *
 * All addresses are byte offsets into the shared memory; sizes and leading dimensions are in f32
 * elements. Pointers are i32 and wrap modulo 2³², so memories up to 4 GiB work.
 *
 * @module
 */

import {
  call,
  type Code,
  f32,
  f32x4,
  forRange,
  FunctionBuilder,
  get,
  i32,
  ifThen,
  increment,
  type Local,
  type ModuleBuilder,
  select,
  seq,
  set,
  v128,
  ValType,
} from "./wasm_emitter.ts";

/** Rows of C one micro-kernel call computes (register block height). */
export const MR = 4;
/** Columns of C one micro-kernel call computes: two f32x4 vectors. */
export const NR = 8;
/** Depth of one packed block: a B panel (KC × NR f32, 8 KiB) stays in L1. */
export const KC = 256;

/** k steps per micro-kernel loop iteration: fewer pointer updates and branches per FLOP. */
const UNROLL = 8;
/** Bytes of one f32. */
const F32_BYTES = 4;

/** The smallest multiple of `multiple` that is ≥ value. */
export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** f32 elements {@link packB} writes for a k × n matrix: n rounded up to whole panels. */
export function packedBFloats(k: number, n: number): number {
  return k * roundUp(n, NR);
}

/** f32 elements of the edge-tile scratch {@link gemm} needs. */
export const TILE_FLOATS = MR * NR;

/** The matmul kernels a module exports, as JavaScript sees them. */
export interface MatmulExports {
  /**
   * Pack the k × n matrix B (B[kk][j] = src[kk·ld + j], or src[j·ld + kk] when `transposed` is 1)
   * into `dst` for {@link MatmulExports.gemm}: panels of NR columns stored [column panel][row][NR]
   * (element [kk][j] at (j − j mod NR)·k + kk·NR + j mod NR), columns past n zero. Rows
   * r0 … r0 + k′ of a packed matrix are again a packed matrix (at dst + r0·NR, panel stride k
   * rows), and so are columns c0 … (c0 a multiple of NR, at dst + c0·k).
   */
  packB(src: number, ld: number, transposed: number, k: number, n: number, dst: number): void;
  /**
   * C[m × n] (leading dimension ldc) = scale · (C₀ + A[m × k] (lda) @ B) + bias, with B packed
   * by `packB` and bRows its panel height (the k it was packed with; more for a range of its
   * rows); C₀ is C's old value when `accumulate` is 1, else 0; bias is the address of n f32 or 0
   * for none; tile is scratch of {@link TILE_FLOATS} f32. Requires m, n, k ≥ 1.
   */
  gemm(
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    packedB: number,
    bRows: number,
    c: number,
    ldc: number,
    bias: number,
    scale: number,
    accumulate: number,
    tile: number,
  ): void;
}

const { I32, F32, V128 } = ValType;

/** Address of element `index` (in f32) past `base`. */
function elementAddress(base: Code, index: Code): Code {
  return i32.add(base, i32.mul(index, i32.constant(F32_BYTES)));
}

function definePackB(): FunctionBuilder {
  const fn = new FunctionBuilder("packB", [I32, I32, I32, I32, I32, I32]);
  const [src, ld, transposed, k, n, dst] = fn.params as [Local, Local, Local, Local, Local, Local];
  const pc = fn.local(I32), kb = fn.local(I32), j0 = fn.local(I32);
  const kk = fn.local(I32), jj = fn.local(I32), row = fn.local(I32), out = fn.local(I32);
  const column = fn.local(I32);
  const sourceElement = select(
    // transposed: B[row][column] = src[column·ld + row]
    i32.add(i32.mul(get(column), get(ld)), get(row)),
    i32.add(i32.mul(get(row), get(ld)), get(column)),
    get(transposed),
  );
  const copyElementOrZero = seq(
    set(column, i32.add(get(j0), get(jj))),
    ifThen(i32.ltS(get(column), get(n)), [
      f32.store(
        elementAddress(get(out), get(jj)),
        f32.load(elementAddress(get(src), sourceElement)),
      ),
    ], [
      f32.store(elementAddress(get(out), get(jj)), f32.constant(0)),
    ]),
  );
  const rowStart = elementAddress(get(src), i32.add(i32.mul(get(row), get(ld)), get(j0)));
  return fn.body(
    // blocks of KC rows, panel by panel: the block of the source being read stays in cache
    forRange(
      pc,
      i32.constant(0),
      get(k),
      KC,
      set(kb, i32.minS(i32.constant(KC), i32.sub(get(k), get(pc)))),
      forRange(
        j0,
        i32.constant(0),
        get(n),
        NR,
        forRange(
          kk,
          i32.constant(0),
          get(kb),
          1,
          set(row, i32.add(get(pc), get(kk))),
          // panel j0 starts at j0·k; its row `row` at + row·NR
          set(
            out,
            elementAddress(
              get(dst),
              i32.add(i32.mul(get(j0), get(k)), i32.mul(get(row), i32.constant(NR))),
            ),
          ),
          ifThen(
            i32.and(
              i32.eqz(get(transposed)),
              i32.leS(i32.add(get(j0), i32.constant(NR)), get(n)),
            ),
            Array.from(
              { length: NR / 4 },
              (_, v) => v128.store(get(out), v128.load(rowStart, 16 * v), 16 * v),
            ),
            [forRange(jj, i32.constant(0), i32.constant(NR), 1, copyElementOrZero)],
          ),
        ),
      ),
    ),
  );
}

function defineMicroKernel(): FunctionBuilder {
  const fn = new FunctionBuilder("microKernel", [
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    F32,
    I32,
  ]);
  const [kb, a, ldaBytes, rows, bPanel, c, ldcBytes, first, last, scale, bias] = fn.params as [
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
  ];
  const vectors = NR / 4;
  const acc: Local[][] = [];
  for (let r = 0; r < MR; r++) acc.push(Array.from({ length: vectors }, () => fn.local(V128)));
  const b = Array.from({ length: vectors }, () => fn.local(V128));
  const aRows = Array.from({ length: MR }, () => fn.local(I32));
  const aValue = fn.local(V128), k = fn.local(I32), rowAddress = fn.local(I32);
  const scaleVector = fn.local(V128);
  const eachAccumulator = (
    body: (accumulator: Local, r: number, v: number) => Code,
    afterRow: Code = [],
  ) => acc.map((row, r) => seq(...row.map((accumulator, v) => body(accumulator, r, v)), afterRow));

  const kStep = (step: number): Code =>
    seq(
      ...b.map((vector, v) => set(vector, v128.load(get(bPanel), 16 * v + step * NR * F32_BYTES))),
      ...acc.map((row, r) =>
        seq(
          set(aValue, v128.load32Splat(get(aRows[r]!), step * F32_BYTES)),
          ...row.map((accumulator, v) =>
            set(accumulator, f32x4.add(get(accumulator), f32x4.mul(get(aValue), get(b[v]!))))
          ),
        )
      ),
    );

  return fn.body(
    // rows past `rows` read row 0 again: their lanes are computed and never stored
    ...aRows.map((row, r) =>
      set(
        row,
        select(
          i32.add(get(a), i32.mul(get(ldaBytes), i32.constant(r))),
          get(a),
          i32.ltS(i32.constant(r), get(rows)),
        ),
      )
    ),
    ifThen(get(first), eachAccumulator((accumulator) => set(accumulator, v128.zero())), [
      set(rowAddress, get(c)),
      ...eachAccumulator(
        (accumulator, _r, v) => set(accumulator, v128.load(get(rowAddress), 16 * v)),
        increment(rowAddress, get(ldcBytes)),
      ),
    ]),
    // UNROLL k steps per iteration (constant address offsets), then the remaining steps one by one
    forRange(
      k,
      i32.constant(0),
      i32.and(get(kb), i32.constant(-UNROLL)),
      UNROLL,
      ...Array.from({ length: UNROLL }, (_, step) => kStep(step)),
      ...aRows.map((row) => increment(row, UNROLL * F32_BYTES)),
      increment(bPanel, UNROLL * NR * F32_BYTES),
    ),
    forRange(
      k,
      i32.and(get(kb), i32.constant(-UNROLL)),
      get(kb),
      1,
      kStep(0),
      ...aRows.map((row) => increment(row, F32_BYTES)),
      increment(bPanel, NR * F32_BYTES),
    ),
    ifThen(get(last), [
      set(scaleVector, f32x4.splat(get(scale))),
      ...eachAccumulator((accumulator) =>
        set(accumulator, f32x4.mul(get(accumulator), get(scaleVector)))
      ),
      ifThen(get(bias), [
        ...b.map((vector, v) => set(vector, v128.load(get(bias), 16 * v))),
        ...eachAccumulator((accumulator, _r, v) =>
          set(accumulator, f32x4.add(get(accumulator), get(b[v]!)))
        ),
      ]),
    ]),
    set(rowAddress, get(c)),
    ...eachAccumulator(
      (accumulator, _r, v) => v128.store(get(rowAddress), get(accumulator), 16 * v),
      increment(rowAddress, get(ldcBytes)),
    ),
  );
}

function defineGemm(microKernel: number): FunctionBuilder {
  const fn = new FunctionBuilder("gemm", [
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    F32,
    I32,
    I32,
  ]);
  const [m, n, k, a, lda, packedB, bRows, c, ldc, bias, scale, accumulate, tile] = fn.params as [
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
    Local,
  ];
  const pc = fn.local(I32), kb = fn.local(I32);
  const jr = fn.local(I32), ir = fn.local(I32), rows = fn.local(I32);
  const cols = fn.local(I32), first = fn.local(I32), last = fn.local(I32), bPanel = fn.local(I32);
  const aBlock = fn.local(I32), cTile = fn.local(I32), biasColumns = fn.local(I32);
  const r = fn.local(I32), j = fn.local(I32);
  const tileElement = (): Code =>
    elementAddress(get(tile), i32.add(i32.mul(get(r), i32.constant(NR)), get(j)));
  const cElement = (): Code =>
    elementAddress(get(cTile), i32.add(i32.mul(get(r), get(ldc)), get(j)));
  const eachTileElement = (body: Code) =>
    forRange(r, i32.constant(0), get(rows), 1, forRange(j, i32.constant(0), get(cols), 1, body));
  const micro = (target: Code, ldcBytes: Code) =>
    call(
      microKernel,
      get(kb),
      get(aBlock),
      i32.mul(get(lda), i32.constant(F32_BYTES)),
      get(rows),
      get(bPanel),
      target,
      ldcBytes,
      get(first),
      get(last),
      get(scale),
      get(biasColumns),
    );

  return fn.body(
    forRange(
      pc,
      i32.constant(0),
      get(k),
      KC,
      set(kb, i32.minS(i32.constant(KC), i32.sub(get(k), get(pc)))),
      // the first block starts from zero, or from C's old value when accumulating
      set(first, i32.and(i32.eqz(get(pc)), i32.eqz(get(accumulate)))),
      set(last, i32.geS(i32.add(get(pc), get(kb)), get(k))),
      forRange(
        jr,
        i32.constant(0),
        get(n),
        NR,
        // panel jr starts at jr·bRows, row pc of it at + pc·NR
        set(
          bPanel,
          elementAddress(
            get(packedB),
            i32.add(i32.mul(get(jr), get(bRows)), i32.mul(get(pc), i32.constant(NR))),
          ),
        ),
        set(cols, i32.minS(i32.constant(NR), i32.sub(get(n), get(jr)))),
        set(biasColumns, select(elementAddress(get(bias), get(jr)), i32.constant(0), get(bias))),
        forRange(
          ir,
          i32.constant(0),
          get(m),
          MR,
          set(rows, i32.minS(i32.constant(MR), i32.sub(get(m), get(ir)))),
          set(aBlock, elementAddress(get(a), i32.add(i32.mul(get(ir), get(lda)), get(pc)))),
          set(
            cTile,
            elementAddress(get(c), i32.add(i32.mul(get(ir), get(ldc)), get(jr))),
          ),
          ifThen(
            i32.and(
              i32.eq(get(rows), i32.constant(MR)),
              i32.eq(get(cols), i32.constant(NR)),
            ),
            [micro(get(cTile), i32.mul(get(ldc), i32.constant(F32_BYTES)))],
            [
              // an edge tile goes through the scratch tile so nothing outside C is touched
              ifThen(i32.eqz(get(first)), [
                eachTileElement(f32.store(tileElement(), f32.load(cElement()))),
              ]),
              micro(get(tile), i32.constant(NR * F32_BYTES)),
              eachTileElement(f32.store(cElement(), f32.load(tileElement()))),
            ],
          ),
        ),
      ),
    ),
  );
}

/** Add the matmul kernels (`packB`, `microKernel`, `gemm`) to a module. */
export function addMatmulKernels(module: ModuleBuilder): void {
  module.add(definePackB());
  const microKernel = module.add(defineMicroKernel());
  module.add(defineGemm(microKernel));
}
