import assert from "node:assert/strict";
import { SeededRandom } from "../src/random.ts";
import {
  type AttentionKernels,
  compileKernelModule,
  instantiateKernels,
} from "../src/reference/attention_kernels.ts";
import { KC, NR, packedBFloats, TILE_FLOATS } from "../src/reference/matmul.ts";
import {
  FunctionBuilder,
  get,
  i32,
  ModuleBuilder,
  set,
  ValType,
} from "../src/reference/wasm_emitter.ts";

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** The kernels on a fresh shared memory of `floats` f32, every element NaN. */
function kernelsOn(floats: number): { kernels: AttentionKernels; memory: Float32Array } {
  const pages = Math.ceil((floats * 4) / 65536);
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const memory = new Float32Array(wasmMemory.buffer).fill(NaN);
  return { kernels: instantiateKernels(compileKernelModule(), wasmMemory), memory };
}

Deno.test("gemm() matches float64 at ragged sizes, leaves C's row gaps alone", () => {
  // sizes around the register block (4 × 8) and the packed depth (KC = 256)
  const sizes: [m: number, n: number, k: number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [4, 8, 256],
    [5, 9, KC + 1],
    [17, 13, 300],
    [64, 64, 64],
    [63, 70, 2 * KC + 1],
    [2, 33, 520],
  ];
  const { kernels, memory } = kernelsOn(1 << 21);
  const seed = freshSeed();
  const random = new SeededRandom(seed);
  for (const [m, n, k] of sizes) {
    for (const transposed of [0, 1]) {
      // leading dimensions wider than the matrices, so gaps between rows must stay NaN
      const lda = k + 3, ldb = (transposed ? k : n) + 2, ldc = n + 5;
      const bRows = transposed ? n : k;
      let end = 16;
      const place = (floats: number) => {
        const offset = end;
        end += floats + 16;
        return offset;
      };
      const a = place(m * lda), b = place(bRows * ldb), bias = place(n);
      const packed = place(packedBFloats(k, n)), tile = place(TILE_FLOATS), c = place(m * ldc);
      memory.fill(NaN, 0, end);
      for (let i = 0; i < m; i++) {
        random.fillUniform(memory.subarray(a + i * lda, a + i * lda + k), -1, 1);
      }
      for (let i = 0; i < bRows; i++) {
        const row = b + i * ldb;
        random.fillUniform(memory.subarray(row, row + (transposed ? k : n)), -1, 1);
      }
      random.fillUniform(memory.subarray(bias, bias + n), -1, 1);
      const scale = 0.375;
      kernels.packB(b * 4, ldb, transposed, k, n, packed * 4);
      kernels.gemm(m, n, k, a * 4, lda, packed * 4, k, c * 4, ldc, bias * 4, scale, 0, tile * 4);
      const label = `m ${m}, n ${n}, k ${k}, transposed ${transposed}, seed ${seed}`;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < ldc; j++) {
          const got = memory[c + i * ldc + j]!;
          if (j >= n) {
            assert.ok(Number.isNaN(got), `${label}: C[${i}][${j}] in a row gap was written`);
            continue;
          }
          let sum = 0, magnitude = 0;
          for (let kk = 0; kk < k; kk++) {
            const bValue = transposed ? memory[b + j * ldb + kk]! : memory[b + kk * ldb + j]!;
            sum += memory[a + i * lda + kk]! * bValue;
            magnitude += Math.abs(memory[a + i * lda + kk]! * bValue);
          }
          const want = scale * sum + memory[bias + j]!;
          // f32 running sum: each of k additions rounds by ≤ 2⁻²⁴ of the partial sum
          const bound = (k + 2) * 2 ** -24 * (scale * magnitude + Math.abs(want));
          assert.ok(
            Math.abs(got - want) <= bound,
            `${label}: C[${i}][${j}] = ${got}, want ${want}`,
          );
        }
      }
    }
  }
});

Deno.test("softmaxRows() matches float64 per element, rows sum to 1, row gaps untouched", () => {
  const { kernels, memory } = kernelsOn(1 << 16);
  const seed = freshSeed();
  const random = new SeededRandom(seed);
  for (const n of [1, 3, 4, 5, 8, 17, 100]) {
    const rows = 3, ld = n + 2, base = 16;
    memory.fill(NaN, 0, base + rows * ld + 16);
    for (let r = 0; r < rows; r++) {
      random.fillUniform(memory.subarray(base + r * ld, base + r * ld + n), -30, 30);
    }
    const input = memory.slice(base, base + rows * ld);
    kernels.softmaxRows(base * 4, rows, n, ld);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(input.subarray(r * ld, r * ld + n));
      const maximum = Math.max(...row);
      const exps = row.map((s) => Math.exp(s - maximum));
      const total = exps.reduce((sum, e) => sum + e, 0);
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const got = memory[base + r * ld + j]!, want = exps[j]! / total;
        sum += got;
        // f32 rounding of s − max (|s − max| ≤ 60) dominates: ≤ 60 · 2⁻²⁴ relative
        assert.ok(
          Math.abs(got - want) <= 8e-6 * want + 1e-37,
          `n ${n}, row ${r}, element ${j}: ${got}, want ${want}, seed ${seed}`,
        );
      }
      assert.ok(Math.abs(sum - 1) <= 1e-6, `n ${n}, row ${r}: sums to ${sum}, seed ${seed}`);
      for (let j = n; j < ld; j++) {
        assert.ok(Number.isNaN(memory[base + r * ld + j]!), "row gap written");
      }
    }
  }
});

Deno.test("softmaxRows() computes exp to a few ulp over the whole f32 range below the maximum", () => {
  // the row [0, x] gives p₁ / p₀ = eˣ: exp itself, at arguments down to the clamp at −87.34
  const { kernels, memory } = kernelsOn(1 << 16);
  let worst = 0;
  for (let x = -87; x <= 0; x += 0.0137) {
    const s = Math.fround(x);
    memory[16] = 0;
    memory[17] = s;
    kernels.softmaxRows(16 * 4, 1, 2, 2);
    const ratio = memory[17]! / memory[16]!;
    worst = Math.max(worst, Math.abs(ratio / Math.exp(s) - 1));
  }
  assert.ok(worst <= 6e-7, `worst relative error of exp ${worst}`);
  // far below the maximum a key weighs (next to) nothing, without NaN or Infinity
  memory.set([1e30, -1e30, -Infinity, 0], 16);
  kernels.softmaxRows(16 * 4, 1, 4, 4);
  assert.deepEqual(Array.from(memory.subarray(16, 20)).map((p) => p < 1e-37 ? 0 : p), [1, 0, 0, 0]);
});

Deno.test("gemm() multiplies by a range of a packed B's rows and panels, and accumulates", () => {
  // B is 600 × 40 (three KC blocks); the product uses rows 70 … 70 + k and columns 16 … 16 + n
  const bRows = 600, bColumns = 40, rowStart = 70, columnStart = 2 * NR;
  const { kernels, memory } = kernelsOn(1 << 20);
  const random = new SeededRandom(freshSeed());
  const b = 16, packed = b + bRows * bColumns + 16;
  const a = packed + packedBFloats(bRows, bColumns) + 16;
  random.fillUniform(memory.subarray(b, b + bRows * bColumns), -1, 1);
  kernels.packB(b * 4, bColumns, 0, bRows, bColumns, packed * 4);
  for (const [m, n, k] of [[5, 13, 9], [9, 24, KC + 3], [4, 8, 2 * KC + 1]] as const) {
    const c = a + m * k + 16, tile = c + m * n + 16;
    random.fillUniform(memory.subarray(a, a + m * k), -1, 1);
    random.fillUniform(memory.subarray(c, c + m * n), -1, 1);
    const before = memory.slice(c, c + m * n);
    const subB = (packed + columnStart * bRows + rowStart * NR) * 4;
    kernels.gemm(m, n, k, a * 4, k, subB, bRows, c * 4, n, 0, 1, 1, tile * 4);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = before[i * n + j]!, magnitude = Math.abs(sum);
        for (let kk = 0; kk < k; kk++) {
          const product = memory[a + i * k + kk]! *
            memory[b + (rowStart + kk) * bColumns + columnStart + j]!;
          sum += product;
          magnitude += Math.abs(product);
        }
        const got = memory[c + i * n + j]!;
        assert.ok(Math.abs(got - sum) <= 1e-6 * magnitude, `m ${m} n ${n} k ${k} [${i}][${j}]`);
      }
    }
  }
});

Deno.test("featureMap() is elu(x) + 1, plain and transposed, including row tails", () => {
  const { kernels, memory } = kernelsOn(1 << 16);
  const rows = 3, cols = 7, ld = 9, src = 16, dst = 256, dstT = 512;
  const values = [-100, -3, -0.5, -1e-9, 0, 1e-9, 0.5, 3, 40];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) memory[src + r * ld + c] = values[(r * cols + c) % 9]!;
  }
  kernels.featureMap(src * 4, rows, cols, ld, dst * 4, ld, 0);
  kernels.featureMap(src * 4, rows, cols, ld, dstT * 4, rows, 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = memory[src + r * ld + c]!, want = x > 0 ? x + 1 : Math.exp(x);
      const got = memory[dst + r * ld + c]!;
      assert.ok(Math.abs(got - want) <= 2e-7 * want + 1e-37, `φ(${x}) = ${got}, want ${want}`);
      assert.equal(memory[dstT + c * rows + r], got, `transposed [${c}][${r}]`);
    }
    assert.ok(Number.isNaN(memory[dst + r * ld + cols]!), "past the row's end stays untouched");
  }
});

Deno.test("packB() lays out panels of NR columns, zero past n, for B and Bᵀ", () => {
  const { kernels, memory } = kernelsOn(1 << 16);
  const k = 3, n = NR + 3, ld = n + 1;
  // B[kk][j] = 100·kk + j, stored plainly at 16 and transposed at 1024
  for (let kk = 0; kk < k; kk++) {
    for (let j = 0; j < n; j++) {
      memory[16 + kk * ld + j] = 100 * kk + j;
      memory[1024 + j * (k + 1) + kk] = 100 * kk + j;
    }
  }
  for (const [source, sourceLd, transposed] of [[16, ld, 0], [1024, k + 1, 1]] as const) {
    const dst = 4096;
    kernels.packB(source * 4, sourceLd, transposed, k, n, dst * 4);
    const nPad = 2 * NR;
    for (let panel = 0; panel < nPad / NR; panel++) {
      for (let kk = 0; kk < k; kk++) {
        for (let jj = 0; jj < NR; jj++) {
          const j = panel * NR + jj;
          const want = j < n ? 100 * kk + j : 0;
          assert.equal(
            memory[dst + panel * k * NR + kk * NR + jj],
            want,
            `transposed ${transposed}`,
          );
        }
      }
    }
  }
});

Deno.test("ModuleBuilder encodes i32 constants at every LEB128 length boundary", () => {
  const values = [0, 1, 63, 64, -64, -65, 8191, 8192, -8193, 2 ** 31 - 1, -(2 ** 31)];
  const module = new ModuleBuilder();
  for (const [index, value] of values.entries()) {
    const fn = new FunctionBuilder(`c${index}`, [], [ValType.I32]);
    const local = fn.local(ValType.I32);
    module.add(fn.body(set(local, i32.constant(value)), get(local)));
  }
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(module.encode(1)), {
    env: { memory },
  });
  for (const [index, value] of values.entries()) {
    assert.equal((instance.exports[`c${index}`] as () => number)(), value);
  }
});
