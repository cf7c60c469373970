/**
 * `tensors_<id>_n<N>.npz` (`--dump-tensors`): the inputs, weights, configuration and every
 * series' output of one configuration at one length, so anyone can check the numbers in numpy.
 * A run of a single configuration keeps the seed's name `tensors_n<N>.npz`.
 *
 * @module
 */

import { join } from "node:path";
import type { Configuration } from "../configuration.ts";
import { type AttentionInputs, kvWidth, resolveShape } from "../shape.ts";
import { writeFileAtomic } from "./atomic.ts";
import { encodeNpz, type NpyArray } from "./npz.ts";

/** The `mask` code of the file: 0 full, 1 causal, 2 sliding. */
export const MASK_CODES = { full: 0, causal: 1, sliding: 2 } as const;

/** The `attention` code of the file: 0 softmax, 1 linear. */
export const ATTENTION_CODES = { softmax: 0, linear: 1 } as const;

/** The file name of a configuration at length `seqLen` (null: the run's only configuration). */
export function tensorsFileName(
  seqLen: number,
  configuration: Configuration | null = null,
): string {
  return configuration === null
    ? `tensors_n${seqLen}.npz`
    : `tensors_${configuration.id}_n${seqLen}.npz`;
}

/** What one tensors file holds. */
export interface TensorsDump {
  inputs: AttentionInputs;
  /** each series' output, by implementation name (`out_<name>` in the file) */
  outputs: ReadonlyMap<string, Float32Array>;
  /** the configuration, or null when it is the run's only one (the seed's file name and shapes) */
  configuration: Configuration | null;
}

/**
 * Write `x, w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o`, the configuration as int arrays `batch`,
 * `heads`, `kv_heads`, `mask`, `window`, `attention`, and `out_<series>` (weights [in, out]). x and
 * the outputs are [B, n, d_model]; in a single-configuration run of batch 1, [n, d_model] as the
 * seed's files have them. Returns the path written.
 */
export async function writeTensorsFile(dump: TensorsDump, outDir: string): Promise<string> {
  const { inputs, outputs, configuration } = dump;
  const shape = resolveShape(inputs.shape);
  const { seqLen: n, dModel: d, batch } = shape;
  const kv = kvWidth(shape);
  const w = inputs.weights;
  const rows = configuration === null && batch === 1 ? [n, d] : [batch, n, d];
  const int = (value: number): NpyArray => ({ data: BigInt64Array.of(BigInt(value)), shape: [] });
  const arrays: Record<string, NpyArray> = {
    x: { data: inputs.x, shape: rows },
    w_q: { data: w.wQ, shape: [d, d] },
    b_q: { data: w.bQ, shape: [d] },
    w_k: { data: w.wK, shape: [d, kv] },
    b_k: { data: w.bK, shape: [kv] },
    w_v: { data: w.wV, shape: [d, kv] },
    b_v: { data: w.bV, shape: [kv] },
    w_o: { data: w.wO, shape: [d, d] },
    b_o: { data: w.bO, shape: [d] },
    batch: int(batch),
    heads: int(shape.heads),
    kv_heads: int(shape.kvHeads),
    mask: int(MASK_CODES[shape.mask]),
    window: int(shape.window),
    attention: int(ATTENTION_CODES[shape.attention]),
  };
  for (const [series, out] of outputs) arrays[`out_${series}`] = { data: out, shape: rows };
  await Deno.mkdir(outDir, { recursive: true });
  const path = join(outDir, tensorsFileName(n, configuration));
  await writeFileAtomic(path, encodeNpz(arrays));
  return path;
}
