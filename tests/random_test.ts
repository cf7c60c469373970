import assert from "node:assert/strict";
import {
  generateInputs,
  generateUpstreamGradient,
  generateWeights,
  SeededRandom,
} from "../src/random.ts";

function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

Deno.test("generateInputs() gives byte-identical tensors for the same seed", () => {
  const shape = { seqLen: 33, dModel: 96, heads: 3 };
  const a = generateInputs(shape, 42);
  const b = generateInputs(shape, 42);
  assert.deepEqual(bytesOf(a.x), bytesOf(b.x));
  for (const key of Object.keys(a.weights) as (keyof typeof a.weights)[]) {
    assert.deepEqual(bytesOf(a.weights[key]), bytesOf(b.weights[key]), key);
  }
});

Deno.test("generateInputs() differs between seeds and is not degenerate", () => {
  const shape = { seqLen: 64, dModel: 64, heads: 1 };
  const a = generateInputs(shape, 1);
  const b = generateInputs(shape, 2);
  assert.notDeepEqual(bytesOf(a.x), bytesOf(b.x));
  // standard normal x: mean ≈ 0, variance ≈ 1 over 4096 draws
  const mean = a.x.reduce((s, v) => s + v, 0) / a.x.length;
  const variance = a.x.reduce((s, v) => s + (v - mean) ** 2, 0) / (a.x.length - 1);
  assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.1, `variance ${variance}`);
  // weights uniform within ±1/√d
  assert.ok(a.weights.wQ.every((w) => Math.abs(w) <= 1 / 8));
});

Deno.test("generateWeights() shares weights across sequence lengths", () => {
  const short = generateInputs({ seqLen: 10, dModel: 64, heads: 4 }, 7);
  const long = generateInputs({ seqLen: 1000, dModel: 64, heads: 4 }, 7);
  assert.deepEqual(bytesOf(short.weights.wO), bytesOf(long.weights.wO));
  assert.deepEqual(bytesOf(generateWeights(64, 7).bV), bytesOf(long.weights.bV));
  // x of the shorter length is the prefix of the longer one's stream
  assert.deepEqual(bytesOf(short.x), bytesOf(long.x.subarray(0, short.x.length)));
});

Deno.test("SeededRandom.next() stays in [0, 1)", () => {
  const random = new SeededRandom(0);
  for (let i = 0; i < 10000; i++) {
    const value = random.next();
    assert.ok(value >= 0 && value < 1);
  }
});

Deno.test("generateInputs() extends x over the batch and keeps the first kvHeads·dK columns of K and V", () => {
  const seed = generateInputs({ seqLen: 5, dModel: 12, heads: 3 }, 8);
  const kvHeads = generateInputs({ seqLen: 5, dModel: 12, heads: 3, kvHeads: 3 }, 8);
  for (const key of Object.keys(seed.weights) as (keyof typeof seed.weights)[]) {
    assert.deepEqual(bytesOf(kvHeads.weights[key]), bytesOf(seed.weights[key]), key);
  }
  const grouped = generateInputs({ seqLen: 5, dModel: 12, heads: 3, kvHeads: 1, batch: 3 }, 8);
  assert.equal(grouped.x.length, 3 * 5 * 12);
  assert.deepEqual(bytesOf(grouped.x.subarray(0, 60)), bytesOf(seed.x));
  assert.notDeepEqual(bytesOf(grouped.x.subarray(60, 120)), bytesOf(seed.x));
  assert.deepEqual(grouped.weights.bV, seed.weights.bV.subarray(0, 4));
  assert.deepEqual(grouped.weights.wQ, seed.weights.wQ);
  for (let row = 0; row < 12; row++) {
    assert.deepEqual(
      grouped.weights.wK.subarray(row * 4, row * 4 + 4),
      seed.weights.wK.subarray(row * 12, row * 12 + 4),
    );
  }
});

Deno.test("generateUpstreamGradient() is seeded, [batch, n, dModel] and independent of x", () => {
  const shape = { seqLen: 6, dModel: 8, heads: 2, batch: 2 };
  const a = generateUpstreamGradient(shape, 3);
  assert.equal(a.length, 96);
  assert.deepEqual(bytesOf(a), bytesOf(generateUpstreamGradient(shape, 3)));
  assert.notDeepEqual(bytesOf(a), bytesOf(generateUpstreamGradient(shape, 4)));
  assert.notDeepEqual(bytesOf(a), bytesOf(generateInputs(shape, 3).x));
});
