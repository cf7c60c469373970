import assert from "node:assert/strict";
import { attentionOracle } from "../src/gpu/oracle.ts";
import { generateInputs } from "../src/random.ts";
import { CpuAttention } from "../src/reference/cpu_attention.ts";
import { planLayout } from "../src/reference/memory_layout.ts";
import type { AttentionShape, MaskName } from "../src/shape.ts";

/** Relative L2 error the f32 CPU path is held to against the float64 oracle. */
const TOLERANCE = 2e-6;

/** ‖got − want‖₂ / ‖want‖₂; NaN anywhere gives NaN (and fails any bound). */
function relativeL2(got: Float32Array, want: Float64Array): number {
  let error = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    error += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(error / norm);
}

/** Run every shape on one pool of two workers against the oracle; the label names a failure. */
async function expectOracle(shapes: AttentionShape[]): Promise<void> {
  const cpu = await CpuAttention.create({ workers: 2 });
  try {
    for (const shape of shapes) {
      const inputs = generateInputs(shape, 1000 + shape.seqLen);
      cpu.load(inputs);
      const { out } = await cpu.forward();
      const want = attentionOracle(inputs);
      assert.equal(out.length, want.length);
      const error = relativeL2(out, want);
      assert.ok(error <= TOLERANCE, `${JSON.stringify(shape)}: relative L2 ${error}`);
    }
  } finally {
    cpu.close();
  }
}

/** The grid of one mask: kvHeads {1, 2, heads} × batch {1, 3} × n {1, 2, 63, 65} at d_k 6. */
function grid(mask: MaskName, window: number, attention: "softmax" | "linear"): AttentionShape[] {
  const shapes: AttentionShape[] = [];
  for (const kvHeads of [1, 2, 4]) {
    for (const batch of [1, 3]) {
      for (const seqLen of [1, 2, 63, 65]) {
        shapes.push({ seqLen, dModel: 24, heads: 4, kvHeads, batch, mask, window, attention });
      }
    }
  }
  // one long sequence: several strips, and a sliding band far from the sequence start
  shapes.push({
    seqLen: 1000,
    dModel: 16,
    heads: 2,
    kvHeads: 1,
    batch: 1,
    mask,
    window,
    attention,
  });
  return shapes;
}

const SOFTMAX_MASKS: [MaskName, number][] = [
  ["full", 0],
  ["causal", 0],
  ["sliding", 1],
  ["sliding", 3],
  ["sliding", 64],
];

for (const [mask, window] of SOFTMAX_MASKS) {
  const name = mask === "sliding" ? `sliding:${window}` : mask;
  Deno.test(`CpuAttention.forward() matches the oracle with mask ${name} (kvHeads × batch × n)`, async () => {
    await expectOracle(grid(mask, window, "softmax"));
  });
}

Deno.test("CpuAttention.forward() matches the oracle with linear attention, full and causal", async () => {
  const shapes = [...grid("full", 0, "linear"), ...grid("causal", 0, "linear")];
  // d_k 8: the column of ones opens a packed panel of its own; 130 rows: three chunks
  for (const mask of ["full", "causal"] as const) {
    shapes.push({
      seqLen: 130,
      dModel: 16,
      heads: 2,
      kvHeads: 1,
      batch: 2,
      mask,
      attention: "linear",
    });
  }
  await expectOracle(shapes);
});

Deno.test("CpuAttention.forward() masks keys of heads wider than one packed block (d_k 264)", async () => {
  await expectOracle([
    { seqLen: 70, dModel: 264, heads: 1, mask: "causal" },
    { seqLen: 70, dModel: 264, heads: 1, mask: "sliding", window: 9 },
    { seqLen: 70, dModel: 264, heads: 1, mask: "causal", attention: "linear" },
  ]);
});

Deno.test("planLayout() stores a band of scores for sliding windows and none for linear attention", () => {
  const shape = { seqLen: 4096, dModel: 64, heads: 4 };
  assert.equal(planLayout(shape, 2).tensors.scores.floats, 4096 * 4096);
  assert.equal(planLayout({ ...shape, mask: "causal" }, 2).tensors.scores.floats, 4096 * 4096);
  const sliding = planLayout({ ...shape, mask: "sliding", window: 256 }, 2);
  assert.ok(sliding.tensors.scores.floats <= 4096 * (256 + 70), `${sliding.tensors.scores.floats}`);
  assert.equal(planLayout({ ...shape, attention: "linear" }, 2).tensors.scores.floats, 0);
  // grouped-query k and v are kvHeads·d_k wide
  const grouped = planLayout({ ...shape, kvHeads: 1, batch: 3 }, 2);
  assert.equal(grouped.tensors.k.floats, 3 * 4096 * 16);
  assert.equal(grouped.tensors.wV.floats, 64 * 16);
  assert.equal(grouped.tensors.x.floats, 3 * 4096 * 64);
});

Deno.test("CpuAttention.load() refuses a configuration it cannot run, in one line", async () => {
  const cpu = await CpuAttention.create({ workers: 1 });
  try {
    const base = { seqLen: 4, dModel: 8, heads: 4 };
    const bad: [AttentionShape, RegExp][] = [
      [{ ...base, kvHeads: 3 }, /heads 4 is not divisible by kvHeads 3/],
      [{ ...base, mask: "sliding", window: 0 }, /window must be a positive integer/],
      [{ ...base, mask: "sliding", window: 2, attention: "linear" }, /full and causal/],
    ];
    for (const [shape, message] of bad) {
      const inputs = generateInputs({ ...shape, kvHeads: 4 }, 1);
      assert.throws(() => cpu.load({ ...inputs, shape }), message);
    }
    const inputs = generateInputs({ ...base, batch: 2 }, 1);
    assert.throws(() => cpu.load({ ...inputs, shape: base }), /x has 64 elements, expected 32/);
  } finally {
    cpu.close();
  }
});
