import assert from "node:assert/strict";
import { generateInputs } from "../src/random.ts";
import {
  CpuAttention,
  cpuAttentionForward,
  CpuWorkerError,
} from "../src/reference/cpu_attention.ts";
import type { AttentionInputs, AttentionShape } from "../src/shape.ts";

/** Relative L2 error the f32 CPU path is held to against the float64 oracle. */
const TOLERANCE = 1e-5;

const SEQ_LENS = [1, 7, 33, 200];
const WIDTHS: [dModel: number, heads: number][] = [[64, 1], [96, 3], [512, 8]];

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** What the oracle computes besides the output: how sensitive each row is to score rounding. */
interface OracleResult {
  out: Float64Array;
  /**
   * per row, over heads: 2⁻¹⁶·max|score|·(1 − max p). f32 rounding moves a score by about its
   * magnitude times a few ulp, and that moves the output by about that shift times the weight
   * off the winning key: large for near-ties among huge scores, where f32 itself is the limit.
   */
  rowSensitivity: Float64Array;
}

/** The forward in float64, written plainly from the definition, on the same f32 inputs. */
function oracle(inputs: AttentionInputs): OracleResult {
  const { seqLen: n, dModel: d, heads } = inputs.shape;
  const dK = d / heads;
  const w = inputs.weights;
  const linear = (input: ArrayLike<number>, weight: Float32Array, bias: Float32Array) => {
    const output = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        let sum = bias[j]!;
        for (let k = 0; k < d; k++) sum += input[i * d + k]! * weight[k * d + j]!;
        output[i * d + j] = sum;
      }
    }
    return output;
  };
  const q = linear(inputs.x, w.wQ, w.bQ);
  const k = linear(inputs.x, w.wK, w.bK);
  const v = linear(inputs.x, w.wV, w.bV);
  const concat = new Float64Array(n * d);
  const rowSensitivity = new Float64Array(n);
  const p = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      let maximum = -Infinity, magnitude = 0;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let c = 0; c < dK; c++) dot += q[i * d + h * dK + c]! * k[j * d + h * dK + c]!;
        p[j] = dot / Math.sqrt(dK);
        maximum = Math.max(maximum, p[j]!);
        magnitude = Math.max(magnitude, Math.abs(p[j]!));
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        p[j] = Math.exp(p[j]! - maximum);
        sum += p[j]!;
      }
      const sensitivity = magnitude * 2 ** -16 * (1 - 1 / sum);
      rowSensitivity[i] = Math.max(rowSensitivity[i]!, sensitivity);
      for (let c = 0; c < dK; c++) {
        let weighted = 0;
        for (let j = 0; j < n; j++) weighted += p[j]! * v[j * d + h * dK + c]!;
        concat[i * d + h * dK + c] = weighted / sum;
      }
    }
  }
  return { out: linear(concat, w.wO, w.bO), rowSensitivity };
}

/** ‖got − want‖₂ / ‖want‖₂ over the rows `include` accepts. */
function relativeL2(
  got: Float32Array,
  want: Float64Array,
  dModel: number,
  include: (row: number) => boolean = () => true,
): number {
  let error = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    if (!include(Math.floor(i / dModel))) continue;
    error += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(error / norm);
}

function firstNonFinite(array: Float32Array): number {
  return array.findIndex((value) => !Number.isFinite(value));
}

function assertByteIdentical(a: Float32Array, b: Float32Array, message: string): void {
  assert.equal(a.length, b.length, message);
  const bytesA = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const bytesB = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const mismatch = bytesA.findIndex((byte, i) => byte !== bytesB[i]);
  const at = Math.floor(mismatch / 4);
  assert.equal(mismatch, -1, `${message}: first difference at element ${at}: ${a[at]} vs ${b[at]}`);
}

/** One forward into a NaN-poisoned output array; checks every element was written. */
async function forwardPoisoned(cpu: CpuAttention, inputs: AttentionInputs): Promise<Float32Array> {
  cpu.load(inputs);
  const into = new Float32Array(inputs.x.length).fill(NaN);
  const { out } = await cpu.forward({ into });
  assert.equal(out, into);
  return out;
}

Deno.test("CpuAttention.forward() matches a float64 oracle at every shape", async () => {
  const cpu = await CpuAttention.create();
  try {
    for (const seqLen of SEQ_LENS) {
      for (const [dModel, heads] of WIDTHS) {
        const seed = freshSeed();
        const inputs = generateInputs({ seqLen, dModel, heads }, seed);
        const out = await forwardPoisoned(cpu, inputs);
        const label = `seqLen ${seqLen}, dModel ${dModel}, heads ${heads}, seed ${seed}`;
        assert.equal(firstNonFinite(out), -1, `${label}: non-finite output`);
        const error = relativeL2(out, oracle(inputs).out, dModel);
        assert.ok(error <= TOLERANCE, `${label}: relative L2 error ${error}`);
      }
    }
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention.forward() handles widths and lengths off every block size", async () => {
  // dK = 10 and 3 (not multiples of 4 or 8); 300 keys span two 256-deep blocks of p @ v; 520
  // columns per head span three blocks of the scores; 70 and 130 rows end in partial strips
  const shapes: AttentionShape[] = [
    { seqLen: 70, dModel: 30, heads: 3 },
    { seqLen: 13, dModel: 9, heads: 3 },
    { seqLen: 300, dModel: 64, heads: 1 },
    { seqLen: 130, dModel: 520, heads: 1 },
  ];
  const cpu = await CpuAttention.create();
  try {
    for (const shape of shapes) {
      const seed = freshSeed();
      const inputs = generateInputs(shape, seed);
      const out = await forwardPoisoned(cpu, inputs);
      const label = `${JSON.stringify(shape)}, seed ${seed}`;
      assert.equal(firstNonFinite(out), -1, `${label}: non-finite output`);
      const error = relativeL2(out, oracle(inputs).out, shape.dModel);
      assert.ok(error <= TOLERANCE, `${label}: relative L2 error ${error}`);
    }
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention.forward() is byte-identical with one worker and with all", async () => {
  const shapes: AttentionShape[] = [
    { seqLen: 1, dModel: 96, heads: 3 },
    { seqLen: 70, dModel: 30, heads: 3 },
    { seqLen: 200, dModel: 512, heads: 8 },
    { seqLen: 300, dModel: 64, heads: 1 },
  ];
  const all = navigator.hardwareConcurrency;
  const pools = await Promise.all(
    [1, all, all + 1].map((workers) => CpuAttention.create({ workers })),
  );
  try {
    for (const shape of shapes) {
      const seed = freshSeed();
      const inputs = generateInputs(shape, seed);
      const [one, ...others] = await Promise.all(pools.map((cpu) => forwardPoisoned(cpu, inputs)));
      others.forEach((out, i) => {
        const workers = pools[i + 1]!.workerCount;
        assertByteIdentical(
          one!,
          out,
          `${JSON.stringify(shape)}, seed ${seed}, 1 vs ${workers} workers`,
        );
      });
    }
  } finally {
    for (const cpu of pools) cpu.close();
  }
});

Deno.test("CpuAttention.forward() repeated or after another shape gives the same bytes", async () => {
  const cpu = await CpuAttention.create();
  try {
    const seed = freshSeed();
    const inputs = generateInputs({ seqLen: 65, dModel: 64, heads: 2 }, seed);
    const first = await forwardPoisoned(cpu, inputs);
    const second = (await cpu.forward()).out;
    assertByteIdentical(first, second, `seed ${seed}, second forward`);
    await forwardPoisoned(cpu, generateInputs({ seqLen: 9, dModel: 64, heads: 2 }, seed + 1));
    const again = await forwardPoisoned(cpu, inputs);
    assertByteIdentical(first, again, `seed ${seed}, after another shape`);
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention.forward() stays finite and accurate on inputs scaled by 1e3 and 1e-3", async () => {
  const cpu = await CpuAttention.create();
  try {
    for (const scale of [1e3, 1e-3]) {
      for (const [dModel, heads] of WIDTHS) {
        const seqLen = 200;
        const seed = freshSeed();
        const inputs = generateInputs({ seqLen, dModel, heads }, seed);
        inputs.x.forEach((value, i) => inputs.x[i] = value * scale);
        const out = await forwardPoisoned(cpu, inputs);
        const label = `x × ${scale}, dModel ${dModel}, heads ${heads}, seed ${seed}`;
        // without the max subtraction, exp of scores ~1e5 overflows to Infinity and NaN follows
        assert.equal(firstNonFinite(out), -1, `${label}: non-finite output`);
        // rows whose softmax is a near-tie between huge scores are ill-conditioned in f32 itself:
        // left out of the error, and they must stay rare
        const { out: want, rowSensitivity } = oracle(inputs);
        const wellConditioned = (row: number) => rowSensitivity[row]! <= 1e-6;
        const excluded = rowSensitivity.filter((s) => s > 1e-6).length;
        assert.ok(excluded <= seqLen / 20, `${label}: ${excluded} ill-conditioned rows`);
        const error = relativeL2(out, want, dModel, wellConditioned);
        assert.ok(error <= TOLERANCE, `${label}: relative L2 error ${error}`);
      }
    }
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention.forward() reports exact typed-array bytes by class", async () => {
  const cpu = await CpuAttention.create();
  try {
    for (const seqLen of [10, 100]) {
      const dModel = 64;
      cpu.load(generateInputs({ seqLen, dModel, heads: 4 }, freshSeed()));
      const { memory } = await cpu.forward();
      const { weights, activations, scores } = memory.peakBytesByClass;
      // the four matrices and biases, and the matrices' packed copy (dModel is a multiple of 8)
      assert.equal(weights, (4 * (dModel * dModel + dModel) + 4 * dModel * dModel) * 4);
      assert.equal(scores, seqLen * seqLen * 4, "one head's full score matrix");
      // x, q, k, v, concat, out and the returned copy, plus scratch
      assert.ok(activations! >= 7 * seqLen * dModel * 4, `activations ${activations}`);
      assert.equal(memory.peakBytes, weights! + activations! + scores!);
    }
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention.forward() leaves the main thread free: a timer fires during it", async () => {
  const cpu = await CpuAttention.create();
  try {
    cpu.load(generateInputs({ seqLen: 768, dModel: 512, heads: 8 }, freshSeed()));
    await cpu.forward(); // warm up: compile and tier up the kernels
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const start = performance.now();
    try {
      await cpu.forward();
    } finally {
      clearInterval(timer);
    }
    const elapsedMs = performance.now() - start;
    assert.ok(elapsedMs < 20 || ticks >= 1, `no tick in a ${elapsedMs.toFixed(0)} ms forward`);
  } finally {
    cpu.close();
  }
});

Deno.test("cpuAttentionForward() gives the pool's bytes and closes its workers", async () => {
  const inputs = generateInputs({ seqLen: 20, dModel: 32, heads: 4 }, freshSeed());
  const out = await cpuAttentionForward(inputs, { workers: 2 });
  const cpu = await CpuAttention.create({ workers: 1 });
  try {
    cpu.load(inputs);
    assertByteIdentical(out, (await cpu.forward()).out, "convenience vs pool");
  } finally {
    cpu.close();
  }
});

Deno.test("CpuAttention rejects bad shapes, bad worker counts and misuse", async () => {
  await assert.rejects(CpuAttention.create({ workers: 0 }), RangeError);
  const cpu = await CpuAttention.create({ workers: 1 });
  try {
    await assert.rejects(cpu.forward(), /before load/);
    const inputs = generateInputs({ seqLen: 4, dModel: 8, heads: 2 }, 1);
    assert.throws(
      () => cpu.load({ ...inputs, shape: { seqLen: 4, dModel: 8, heads: 3 } }),
      /divisible/,
    );
    assert.throws(
      () => cpu.load({ ...inputs, shape: { seqLen: 0, dModel: 8, heads: 2 } }),
      RangeError,
    );
    assert.throws(() => cpu.load({ ...inputs, x: new Float32Array(3) }), /x has 3 elements/);
    cpu.load(inputs);
    await assert.rejects(cpu.forward({ into: new Float32Array(5) }), /into has 5/);
  } finally {
    cpu.close();
  }
  assert.throws(() => cpu.load(generateInputs({ seqLen: 4, dModel: 8, heads: 2 }, 1)), /closed/);
});

Deno.test("CpuAttention.close() during a forward rejects it instead of hanging", async () => {
  const cpu = await CpuAttention.create();
  cpu.load(generateInputs({ seqLen: 512, dModel: 64, heads: 1 }, freshSeed()));
  const pending = cpu.forward();
  cpu.close();
  await assert.rejects(pending, CpuWorkerError);
});
