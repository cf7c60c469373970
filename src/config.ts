/**
 * The profile's configuration: its defaults (the seed experiment's) and its validated form.
 * Parsing and validation of command-line flags live in `cli/profile_args.ts`.
 *
 * @module
 */

import { type ConfigurationGrid, SEED_GRID } from "./configuration.ts";
import type { PrecisionName, VariantName } from "./variants/registry.ts";

export {
  PRECISION_NAMES,
  type PrecisionName,
  VARIANT_NAMES,
  type VariantName,
} from "./variants/registry.ts";

/** Where a series runs. */
export type DeviceName = "cpu" | "gpu";

/** Every device, in report order. */
export const DEVICE_NAMES: readonly DeviceName[] = ["cpu", "gpu"];

/** A validated profile configuration; also recorded in the JSON so a run can be repeated. */
export interface ProfileConfig {
  /** the sequence lengths, ascending */
  seqLens: number[];
  /** the first of `grid.dModel` (what version-1 files recorded) */
  dModel: number;
  /** the first of `grid.heads` */
  heads: number;
  /** every configuration axis as its flag lists it; the profile runs every combination */
  grid: ConfigurationGrid;
  /** timed runs per point (≥ 2: the standard error needs two) */
  runs: number;
  /** untimed runs before the timed ones */
  warmup: number;
  /** the paths to measure */
  devices: DeviceName[];
  /** true when `--devices` was given: then a missing GPU adapter is an error, not a warning */
  devicesExplicit: boolean;
  /** the GPU kernel variants */
  variants: VariantName[];
  /** GPU storage precisions: each variant runs once per precision (series `gpu_<variant>[_f16]`) */
  precisions: PrecisionName[];
  /** the output folder */
  outDir: string;
  /** seeds the inputs and weights */
  seed: number;
  /** also write `tensors_n<N>.npz` for n ≤ dumpMax */
  dumpTensors: boolean;
  /** `--dump-tensors` writes lengths up to this one */
  dumpMax: number;
  /** no progress output (warnings still go to stderr) */
  quiet: boolean;
}

/** The seed experiment: lengths 10…10000, d_model 512, 8 heads, 20 runs. */
export const DEFAULT_CONFIG: ProfileConfig = {
  seqLens: [10, 100, 1000, 10000],
  dModel: 512,
  heads: 8,
  grid: SEED_GRID,
  runs: 20,
  warmup: 3,
  devices: ["cpu", "gpu"],
  devicesExplicit: false,
  variants: ["naive", "fused"],
  precisions: ["f32"],
  outDir: "results",
  seed: 42,
  dumpTensors: false,
  dumpMax: 4096,
  quiet: false,
};
