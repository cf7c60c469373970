/**
 * `tensors_<id>_n<N>.npz` (`--dump-tensors`): the inputs, weights, configuration and every
 * series' output of one configuration at one length, so anyone can check the numbers in numpy.
 * A run of a single configuration keeps the seed's name `tensors_n<N>.npz`.
 *
 * @module
 */

import { join } from "node:path";
import { type Configuration, configurationId } from "../configuration.ts";
import { type AttentionGradients, type GradientName, GRADIENTS } from "../gradients.ts";
import { type AttentionInputs, kvWidth, resolveShape } from "../shape.ts";
import { writeFileAtomic } from "./atomic.ts";
import { encodeNpz, type NpyArray } from "./npz.ts";

/** The `mask` code of the file: 0 full, 1 causal, 2 sliding. */
export const MASK_CODES = { full: 0, causal: 1, sliding: 2 } as const;

/** The `attention` code of the file: 0 softmax, 1 linear. */
export const ATTENTION_CODES = { softmax: 0, linear: 1 } as const;

/**
 * The file name of a configuration at length `seqLen` (null: the run's only configuration). Both
 * passes of a configuration share one file, named by the forward configuration's id.
 */
export function tensorsFileName(
  seqLen: number,
  configuration: Configuration | null = null,
): string {
  if (configuration === null) return `tensors_n${seqLen}.npz`;
  return `tensors_${configurationId({ ...configuration, pass: "forward" })}_n${seqLen}.npz`;
}

/** What one tensors file holds. */
export interface TensorsDump {
  inputs: AttentionInputs;
  /** each series' output, by implementation name (`out_<name>` in the file) */
  outputs: ReadonlyMap<string, Float32Array>;
  /** the configuration, or null when it is the run's only one (the seed's file name and shapes) */
  configuration: Configuration | null;
  /**
   * a backward pass: the upstream gradient (`d_out`) and each backward series' gradients by name
   * (`grad_<tensor>_<name>`, each in its tensor's shape)
   */
  backward?: { dOut: Float32Array; gradients: ReadonlyMap<string, AttentionGradients> };
}

/**
 * Write `x, w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o`, the configuration as int arrays `batch`,
 * `heads`, `kv_heads`, `mask`, `window`, `attention`, and `out_<series>` (weights [in, out]); with a
 * backward pass also `d_out` and `grad_<tensor>_<series>`. x, the outputs, d_out and grad_x are
 * [B, n, d_model]; in a single-configuration run of batch 1, [n, d_model] as the seed's files have
 * them. Returns the path written.
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
  if (dump.backward) {
    arrays.d_out = { data: dump.backward.dOut, shape: rows };
    const shapes: Record<GradientName, number[]> = {
      x: rows,
      wQ: [d, d],
      bQ: [d],
      wK: [d, kv],
      bK: [kv],
      wV: [d, kv],
      bV: [kv],
      wO: [d, d],
      bO: [d],
    };
    for (const [series, gradients] of dump.backward.gradients) {
      for (const { name, fileName } of GRADIENTS) {
        arrays[`grad_${fileName}_${series}`] = { data: gradients[name], shape: shapes[name] };
      }
    }
  }
  await Deno.mkdir(outDir, { recursive: true });
  const path = join(outDir, tensorsFileName(n, configuration));
  await writeFileAtomic(path, encodeNpz(arrays));
  return path;
}

/** One pass of one configuration at one length, as the profile reports it. */
export interface PassTensors {
  configuration: Configuration;
  severalConfigurations: boolean;
  inputs: AttentionInputs;
  outputs: ReadonlyMap<string, Float32Array>;
  backward?: { dOut: Float32Array; gradients: ReadonlyMap<string, AttentionGradients> };
}

/**
 * The tensor files of a run, both passes of a configuration in one: a backward series is named
 * `<series>_backward` in its file (`out_cpu_backward`, `grad_x_cpu_backward`, …), beside the
 * forward series' `out_<series>`. Keeps each file's arrays until the run ends (dumps are of small
 * lengths).
 */
export class TensorDumps {
  readonly #dumps = new Map<string, TensorsDump>();

  /** Merge one pass into its file's dump; the whole dump, to be written (again). */
  add(done: PassTensors): TensorsDump {
    const configuration = done.severalConfigurations ? done.configuration : null;
    const file = tensorsFileName(done.inputs.shape.seqLen, configuration);
    const dump = this.#dumps.get(file) ?? {
      inputs: done.inputs,
      outputs: new Map<string, Float32Array>(),
      configuration,
    };
    const suffix = done.backward ? "_backward" : "";
    const outputs = new Map(dump.outputs);
    for (const [series, out] of done.outputs) outputs.set(series + suffix, out);
    const merged: TensorsDump = { ...dump, outputs };
    if (done.backward) {
      const gradients = new Map(dump.backward?.gradients);
      for (const [series, g] of done.backward.gradients) gradients.set(series + suffix, g);
      merged.backward = { dOut: done.backward.dOut, gradients };
    }
    this.#dumps.set(file, merged);
    return merged;
  }
}
