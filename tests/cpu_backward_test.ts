import assert from "node:assert/strict";
import { attentionBackwardOracle, oracleActivations } from "../src/gpu/backward_oracle.ts";
import { GRADIENTS } from "../src/gradients.ts";
import { compileKernelModule, instantiateKernels } from "../src/reference/attention_kernels.ts";
import { BackwardWorker } from "../src/reference/backward_kernels.ts";
import { CpuAttention } from "../src/reference/cpu_attention.ts";
import {
  backwardRegions,
  planBackwardLayout,
  readGradients,
} from "../src/reference/backward_layout.ts";
import {
  compileBackwardSimdModule,
  instantiateBackwardSimd,
} from "../src/reference/backward_simd.ts";
import { allRegions, planLayout } from "../src/reference/memory_layout.ts";
import { type AttentionInputs, type AttentionShape, type MaskName } from "../src/shape.ts";
import { generateInputs, generateUpstreamGradient } from "../src/random.ts";

/** Relative L2 error of an f32 gradient: ≤ 6e-6 measured; a wrong term errs by O(1). */
const TOLERANCE = 2e-5;

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * One backward on one thread: the forward's tensors (q, k, v, concat from the oracle, rounded to
 * f32) and dOut in a NaN-poisoned memory, so an element the backward fails to write shows.
 */
function backwardOnOneThread(inputs: AttentionInputs, dOut: Float32Array) {
  const layout = planBackwardLayout(inputs.shape, 1);
  const memory = new WebAssembly.Memory({
    initial: layout.pages,
    maximum: layout.pages,
    shared: true,
  });
  const view = (region: { offset: number; floats: number }) =>
    new Float32Array(memory.buffer, region.offset, region.floats);
  for (const region of [...allRegions(layout.forward), ...backwardRegions(layout)]) {
    view(region).fill(NaN);
  }
  new Int32Array(memory.buffer, layout.tensors.control.offset, layout.tensors.control.floats)
    .fill(0);
  const f = layout.forward.tensors, a = oracleActivations(inputs), w = inputs.weights;
  const copies: [keyof typeof f, ArrayLike<number>][] = [
    ["x", inputs.x],
    ["wQ", w.wQ],
    ["bQ", w.bQ],
    ["wK", w.wK],
    ["bK", w.bK],
    ["wV", w.wV],
    ["bV", w.bV],
    ["wO", w.wO],
    ["bO", w.bO],
    ["q", a.q],
    ["k", a.k],
    ["v", a.v],
    ["concat", a.concat],
  ];
  for (const [name, values] of copies) {
    view(f[name] as { offset: number; floats: number }).set(values);
  }
  view(layout.tensors.dOut).set(dOut);
  const kernels = {
    ...instantiateKernels(compileKernelModule(), memory),
    ...instantiateBackwardSimd(compileBackwardSimdModule(), memory),
  };
  new BackwardWorker(kernels, memory, layout, 0).backward();
  return readGradients(layout, memory.buffer);
}

/**
 * ‖got − want‖₂ / max(‖want‖₂, 10), NaN if anything is not finite: relative, except for a gradient
 * that is zero in exact arithmetic (dW_q and db_q at n = 1, where every softmax is 1), which f32
 * rounding of dP − rowsum(dO ⊙ O) leaves at up to ~1e-4.
 */
function relativeL2(got: Float32Array, want: Float64Array): number {
  let error = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i]!)) return NaN;
    error += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(error / Math.max(norm, 100));
}

function checkAgainstOracle(shape: AttentionShape, seed: number) {
  const inputs = generateInputs(shape, seed);
  const dOut = generateUpstreamGradient(shape, seed);
  const got = backwardOnOneThread(inputs, dOut);
  const want = attentionBackwardOracle(inputs, dOut);
  for (const { name } of GRADIENTS) {
    assert.equal(got[name].length, want[name].length, `${name}: length`);
    const error = relativeL2(got[name], want[name]);
    assert.ok(
      error <= TOLERANCE,
      `${JSON.stringify(shape)}, seed ${seed}: d${name} off by ${error} relative`,
    );
  }
}

Deno.test("BackwardWorker.backward() matches the float64 oracle at awkward shapes", () => {
  const seed = freshSeed();
  const masks: MaskName[] = ["full", "causal"];
  for (const seqLen of [1, 2, 63, 65]) {
    for (const mask of masks) {
      for (const kvHeads of [1, 2, 4]) {
        for (const batch of [1, 3]) {
          checkAgainstOracle({ seqLen, dModel: 32, heads: 4, kvHeads, mask, batch }, seed);
        }
      }
    }
    // a sliding window narrower than a strip, and one wider
    for (const window of [5, 70]) {
      for (const kvHeads of [1, 4]) {
        checkAgainstOracle(
          { seqLen, dModel: 32, heads: 4, kvHeads, mask: "sliding", window },
          seed,
        );
      }
    }
  }
});

Deno.test("CpuAttention.backward() matches the oracle, byte-identical for 1 and 3 workers", async () => {
  const seed = freshSeed();
  const shapes: AttentionShape[] = [
    { seqLen: 65, dModel: 32, heads: 4 },
    { seqLen: 2, dModel: 16, heads: 2 },
    { seqLen: 63, dModel: 32, heads: 4, kvHeads: 2, batch: 3, mask: "causal" },
    { seqLen: 65, dModel: 32, heads: 4, kvHeads: 1, mask: "sliding", window: 7 },
  ];
  for (const shape of shapes) {
    const inputs = generateInputs(shape, seed), dOut = generateUpstreamGradient(shape, seed);
    const want = attentionBackwardOracle(inputs, dOut);
    const results = [];
    for (const workers of [1, 3]) {
      const cpu = await CpuAttention.create({ workers });
      try {
        cpu.load(inputs, { backward: true });
        await cpu.forward();
        results.push(await cpu.backward(dOut));
      } finally {
        cpu.close();
      }
    }
    const [one, three] = results as [(typeof results)[0], (typeof results)[0]];
    for (const { name } of GRADIENTS) {
      const error = relativeL2(three.gradients[name], want[name]);
      assert.ok(
        error <= TOLERANCE,
        `${JSON.stringify(shape)}, seed ${seed}: d${name} off by ${error}`,
      );
      assert.deepEqual(one.gradients[name], three.gradients[name], `d${name}: 1 vs 3 workers`);
    }
    // the forward's scores (one head's), and the backward's P and dS of one kv head's query heads
    const n = shape.seqLen, kvHeads = shape.kvHeads ?? shape.heads;
    const forwardScores = planLayout(shape, 3).tensors.scores.floats;
    const groupRows = (shape.heads / kvHeads) * n;
    assert.equal(three.memory.peakBytesByClass.scores, 4 * (forwardScores + 2 * groupRows * n));
    const gradientFloats = GRADIENTS.reduce((sum, { name }) => sum + want[name].length, 0);
    assert.equal(three.memory.peakBytesByClass.gradients, 4 * gradientFloats);
    assert.ok(three.memory.peakBytes > one.memory.peakBytes, "3 workers hold more scratch");
  }
});

Deno.test("CpuAttention.backward() refuses to run without a forward or a backward plan", async () => {
  const cpu = await CpuAttention.create({ workers: 1 });
  try {
    const inputs = generateInputs({ seqLen: 3, dModel: 8, heads: 2 }, 1);
    const dOut = generateUpstreamGradient(inputs.shape, 1);
    cpu.load(inputs);
    await cpu.forward();
    await assert.rejects(cpu.backward(dOut), /without load/);
    cpu.load(inputs, { backward: true });
    await assert.rejects(cpu.backward(dOut), /before a forward/);
    await cpu.forward();
    await assert.rejects(cpu.backward(new Float32Array(5)), /dOut has 5/);
  } finally {
    cpu.close();
  }
});
