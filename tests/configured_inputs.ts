/**
 * Seeded inputs of any configuration for the backward's tests (generateInputs covers only batch 1
 * and kvHeads = heads until the configurations land).
 */
import { SeededRandom } from "../src/random.ts";
import { type AttentionInputs, type AttentionShape, kvWidth, resolveShape } from "../src/shape.ts";

/** x standard normal, weights and biases uniform in ±0.5, from one seeded stream. */
export function configuredInputs(shape: AttentionShape, seed: number): AttentionInputs {
  const { batch, seqLen, dModel } = resolveShape(shape);
  const random = new SeededRandom(seed), kvColumns = kvWidth(shape);
  const vector = (length: number) => random.fillUniform(new Float32Array(length), -0.5, 0.5);
  const matrix = (columns: number) => vector(dModel * columns);
  return {
    shape,
    x: random.fillNormal(new Float32Array(batch * seqLen * dModel)),
    weights: {
      wQ: matrix(dModel),
      bQ: vector(dModel),
      wK: matrix(kvColumns),
      bK: vector(kvColumns),
      wV: matrix(kvColumns),
      bV: vector(kvColumns),
      wO: matrix(dModel),
      bO: vector(dModel),
    },
  };
}

/** A seeded upstream gradient dOut for `inputs`: standard normals. */
export function upstreamGradient(inputs: AttentionInputs, seed: number): Float32Array {
  return new SeededRandom(seed + 1).fillNormal(new Float32Array(inputs.x.length));
}
