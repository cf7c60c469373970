/**
 * Seeded random inputs: the same seed gives the same bytes on every machine and worker count.
 *
 * @module
 */

import type { AttentionInputs, AttentionShape, AttentionWeights } from "./shape.ts";
import { kvWidth, resolveShape } from "./shape.ts";

/**
 * A seeded generator of uniform floats in [0, 1): xoshiro128** seeded through splitmix32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = new SeededRandom(42), b = new SeededRandom(42);
 * assert(a.next() === b.next());
 * ```
 */
export class SeededRandom {
  #s = new Uint32Array(4);

  /** A generator seeded with `seed` (an unsigned 32-bit integer). */
  constructor(seed: number) {
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32 spreads a small seed over the 128-bit state
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      this.#s[i] = (t ^ (t >>> 16)) >>> 0;
    }
  }

  /** The next 32 random bits. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 24 random bits (exact in f32). */
  next(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Fill `out` with uniform floats in [low, high). */
  fillUniform(out: Float32Array, low: number, high: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.next();
    return out;
  }

  /** Fill `out` with standard normal floats (Box–Muller). */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.next(); // in (0, 1]: log stays finite
      const u2 = this.next();
      const radius = Math.sqrt(-2 * Math.log(u1));
      out[i] = radius * Math.cos(2 * Math.PI * u2);
      if (i + 1 < out.length) out[i + 1] = radius * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Seeded weights: uniform in ±1/√dModel, the default initialisation of a PyTorch `nn.Linear`.
 * Weights depend on dModel and the seed only, so every sequence length shares them.
 */
export function generateWeights(dModel: number, seed: number): AttentionWeights {
  const random = new SeededRandom(seed);
  const bound = 1 / Math.sqrt(dModel);
  const matrix = () => random.fillUniform(new Float32Array(dModel * dModel), -bound, bound);
  const bias = () => random.fillUniform(new Float32Array(dModel), -bound, bound);
  return {
    wQ: matrix(),
    bQ: bias(),
    wK: matrix(),
    bK: bias(),
    wV: matrix(),
    bV: bias(),
    wO: matrix(),
    bO: bias(),
  };
}

/**
 * Seeded inputs of one forward: `x` standard normal, weights as in {@link generateWeights}.
 *
 * `x` holds batch·seqLen·dModel normals of its own stream, so batch 1 is today's x and each longer
 * shape extends it. K and V keep the first kvHeads·dK columns of the [dModel, dModel] matrices
 * (and entries of their biases): kvHeads = heads is byte-identical to the seed's inputs, and
 * grouped-query attention shares its weights with full multi-head attention.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const inputs = generateInputs({ seqLen: 4, dModel: 8, heads: 2, batch: 3, kvHeads: 1 }, 42);
 * assert(inputs.x.length === 96 && inputs.weights.wK.length === 32);
 * ```
 */
export function generateInputs(shape: AttentionShape, seed: number): AttentionInputs {
  const { batch, seqLen, dModel } = resolveShape(shape);
  // x gets its own stream so weights are identical across sequence lengths
  const x = new SeededRandom(seed ^ 0x5eed_0001).fillNormal(
    new Float32Array(batch * seqLen * dModel),
  );
  const weights = generateWeights(dModel, seed);
  const kvColumns = kvWidth(shape);
  if (kvColumns !== dModel) {
    weights.wK = firstColumns(weights.wK, dModel, kvColumns);
    weights.wV = firstColumns(weights.wV, dModel, kvColumns);
    weights.bK = weights.bK.slice(0, kvColumns);
    weights.bV = weights.bV.slice(0, kvColumns);
  }
  return { shape, x, weights };
}

/** The first `columns` columns of a row-major [rows, rows] matrix, as [rows, columns]. */
function firstColumns(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    out.set(matrix.subarray(r * rows, r * rows + columns), r * columns);
  }
  return out;
}

/**
 * A seeded upstream gradient dOut for the backward pass: [batch, seqLen, dModel] standard normals
 * from a stream of their own (independent of x and the weights).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const dOut = generateUpstreamGradient({ seqLen: 4, dModel: 8, heads: 2, batch: 2 }, 42);
 * assert(dOut.length === 64);
 * ```
 */
export function generateUpstreamGradient(shape: AttentionShape, seed: number): Float32Array {
  const { batch, seqLen, dModel } = resolveShape(shape);
  return new SeededRandom(seed ^ 0x5eed_0002).fillNormal(
    new Float32Array(batch * seqLen * dModel),
  );
}
