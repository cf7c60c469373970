/**
 * `tensors_n<N>.npz` (`--dump-tensors`): the inputs, weights and every series' output of one
 * length, so anyone can check the numbers in numpy.
 *
 * @module
 */

import { join } from "node:path";
import type { SeriesName } from "../results.ts";
import type { AttentionInputs } from "../shape.ts";
import { writeFileAtomic } from "./atomic.ts";
import { encodeNpz, type NpyArray } from "./npz.ts";

/** The file name for length `seqLen`. */
export function tensorsFileName(seqLen: number): string {
  return `tensors_n${seqLen}.npz`;
}

/**
 * Write `x, w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o` and `out_<series>` (weights [in, out]).
 * Returns the path written.
 */
export async function writeTensorsFile(
  inputs: AttentionInputs,
  outputs: ReadonlyMap<SeriesName, Float32Array>,
  outDir: string,
): Promise<string> {
  const { seqLen: n, dModel: d } = inputs.shape;
  const w = inputs.weights;
  const matrix = (data: Float32Array): NpyArray => ({ data, shape: [d, d] });
  const vector = (data: Float32Array): NpyArray => ({ data, shape: [d] });
  const arrays: Record<string, NpyArray> = {
    x: { data: inputs.x, shape: [n, d] },
    w_q: matrix(w.wQ),
    b_q: vector(w.bQ),
    w_k: matrix(w.wK),
    b_k: vector(w.bK),
    w_v: matrix(w.wV),
    b_v: vector(w.bV),
    w_o: matrix(w.wO),
    b_o: vector(w.bO),
  };
  for (const [series, out] of outputs) arrays[`out_${series}`] = { data: out, shape: [n, d] };
  await Deno.mkdir(outDir, { recursive: true });
  const path = join(outDir, tensorsFileName(n));
  await writeFileAtomic(path, encodeNpz(arrays));
  return path;
}
