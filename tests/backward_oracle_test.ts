import assert from "node:assert/strict";
import { attentionBackwardOracle, oracleActivations } from "../src/gpu/backward_oracle.ts";
import { attentionOracle } from "../src/gpu/oracle.ts";
import { GRADIENTS } from "../src/gradients.ts";
import { generateInputs, generateUpstreamGradient } from "../src/random.ts";
import type { AttentionInputs, AttentionShape } from "../src/shape.ts";

function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** The array of `inputs` a gradient belongs to. */
function tensorOf(inputs: AttentionInputs, name: (typeof GRADIENTS)[number]["name"]): Float32Array {
  return name === "x" ? inputs.x : inputs.weights[name];
}

/** L = Σ(out ⊙ dOut) by the forward oracle. */
function loss(inputs: AttentionInputs, dOut: Float32Array): number {
  const out = attentionOracle(inputs);
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]! * dOut[i]!;
  return sum;
}

/**
 * Every element's central difference (L(t + ε) − L(t − ε)) / (2ε) through the forward oracle.
 * The perturbed values are rounded to f32 where they are stored, so the step is the difference of
 * the two stored values, not 2ε: the quotient is then exact up to O(ε²) and float64 rounding.
 */
function finiteDifferences(
  inputs: AttentionInputs,
  dOut: Float32Array,
  tensor: Float32Array,
) {
  const epsilon = 1e-3;
  const gradient = new Float64Array(tensor.length);
  for (let i = 0; i < tensor.length; i++) {
    const original = tensor[i]!;
    tensor[i] = original + epsilon;
    const plus = tensor[i]!, lossPlus = loss(inputs, dOut);
    tensor[i] = original - epsilon;
    const minus = tensor[i]!, lossMinus = loss(inputs, dOut);
    tensor[i] = original;
    gradient[i] = (lossPlus - lossMinus) / (plus - minus);
  }
  return gradient;
}

/** ‖got − want‖₂ / max(‖want‖₂, 1): relative, but absolute for a gradient that is (near) zero. */
function relativeL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let error = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    error += (got[i]! - want[i]!) ** 2;
    norm += want[i]! ** 2;
  }
  return Math.sqrt(error / Math.max(norm, 1));
}

function checkAgainstFiniteDifferences(shape: AttentionShape, seed: number) {
  const inputs = generateInputs(shape, seed);
  const dOut = generateUpstreamGradient(shape, seed);
  const gradients = attentionBackwardOracle(inputs, dOut);
  for (const { name } of GRADIENTS) {
    const tensor = tensorOf(inputs, name);
    const numeric = finiteDifferences(inputs, dOut, tensor);
    const analytic = gradients[name];
    assert.equal(analytic.length, tensor.length, `${name}: gradient length`);
    const error = relativeL2(analytic, numeric);
    // central differences err by O(ε²) ≈ 1e-6 relative; a wrong term errs by O(1)
    assert.ok(error < 1e-5, `${JSON.stringify(shape)}, seed ${seed}: d${name} off by ${error}`);
  }
}

Deno.test("attentionBackwardOracle() matches central finite differences of the forward oracle", () => {
  const seed = freshSeed();
  for (const shape of [{ seqLen: 1, dModel: 4, heads: 1 }, { seqLen: 3, dModel: 8, heads: 2 }]) {
    checkAgainstFiniteDifferences(shape, seed);
  }
});

Deno.test("attentionBackwardOracle() matches finite differences with batch, kvHeads and masks", () => {
  const seed = freshSeed();
  const shapes: AttentionShape[] = [
    { seqLen: 3, dModel: 8, heads: 2, batch: 2 },
    { seqLen: 4, dModel: 12, heads: 3, kvHeads: 1, mask: "causal" },
    { seqLen: 4, dModel: 8, heads: 4, kvHeads: 2, batch: 2, mask: "causal" },
    { seqLen: 5, dModel: 8, heads: 2, kvHeads: 1, mask: "sliding", window: 2 },
  ];
  for (const shape of shapes) checkAgainstFiniteDifferences(shape, seed);
});

Deno.test("oracleActivations() gives the forward oracle's output in every configuration", () => {
  const seed = freshSeed();
  const shapes: AttentionShape[] = [
    { seqLen: 5, dModel: 12, heads: 3 },
    { seqLen: 6, dModel: 16, heads: 4, kvHeads: 2, batch: 2, mask: "causal" },
    { seqLen: 7, dModel: 8, heads: 2, kvHeads: 1, mask: "sliding", window: 3 },
  ];
  for (const shape of shapes) {
    const inputs = generateInputs(shape, seed);
    assert.ok(relativeL2(oracleActivations(inputs).out, attentionOracle(inputs)) < 1e-14);
  }
});

Deno.test("attentionBackwardOracle() refuses a dOut of the wrong length", () => {
  const inputs = generateInputs({ seqLen: 2, dModel: 4, heads: 1 }, 1);
  assert.throws(() => attentionBackwardOracle(inputs, new Float32Array(7)), /dOut has 7/);
});
