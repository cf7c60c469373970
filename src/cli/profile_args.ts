/**
 * Flags of `deno task profile`: parsed with node:util parseArgs (strict) and every value checked
 * before any work starts. Each mistake is a UsageError that names the flag, the value and what is
 * allowed.
 *
 * @module
 */

import {
  DEFAULT_CONFIG,
  DEVICE_NAMES,
  type DeviceName,
  PRECISION_NAMES,
  type PrecisionName,
  type ProfileConfig,
  VARIANT_NAMES,
  type VariantName,
} from "../config.ts";
import { parseInteger, parseNameList } from "./flag_values.ts";
import { parseFlags, STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, UsageError } from "./usage_error.ts";

/** Largest accepted `--seq-lens` entry; whether a length fits is decided later by preflight. */
export const MAX_SEQ_LEN = 1_000_000;
/** Largest accepted `--d-model`. */
export const MAX_D_MODEL = 16_384;
/** Largest accepted `--runs` and `--warmup`. */
export const MAX_RUNS = 100_000;

/** The help text of `deno task profile --help`. */
export const PROFILE_HELP =
  `Profile multi-head self-attention across sequence lengths on the CPU and GPU paths.

Usage: deno task profile [flags]

  --seq-lens LIST     comma-separated positive integers       (default ${DEFAULT_CONFIG.seqLens})
  --d-model N         model width, divisible by --heads       (default ${DEFAULT_CONFIG.dModel})
  --heads N           attention heads                         (default ${DEFAULT_CONFIG.heads})
  --runs N            timed runs per point, ≥ 2               (default ${DEFAULT_CONFIG.runs})
  --warmup N          untimed runs before them, ≥ 0           (default ${DEFAULT_CONFIG.warmup})
  --devices LIST      cpu,gpu; gpu is skipped with a warning when no adapter exists,
                      unless named explicitly                 (default ${DEFAULT_CONFIG.devices})
  --variants LIST     GPU kernel variants: naive,fused        (default ${DEFAULT_CONFIG.variants})
  --precision LIST    GPU storage precision: f32,f16; f16 (f32 arithmetic) needs an adapter
                      with shader-f16                         (default ${DEFAULT_CONFIG.precisions})
  --out DIR           output folder                           (default ${DEFAULT_CONFIG.outDir})
  --seed N            seeds inputs and weights, 0…4294967295  (default ${DEFAULT_CONFIG.seed})
  --dump-tensors      also write tensors_n<N>.npz for n ≤ --dump-max
  --dump-max N        largest length --dump-tensors writes    (default ${DEFAULT_CONFIG.dumpMax})
  --tune              search the GPU kernels' parameters on this adapter first (minutes on a
                      software adapter) and cache them; without it the cached or built-in ones
  --quiet             no progress output (warnings still go to stderr)
  -h, --help          this text
  --version           the version of this tool and of Deno

Exit codes: 0 done, 1 a point failed validation, a device fault or a failed write (a full disk),
2 bad input or another run writing into --out, 130 interrupted (SIGINT, SIGTERM, SIGHUP).`;

/**
 * The outcome of parsing: a configuration to run, or a text to print before exiting 0 (the help,
 * or the version).
 */
export type ParsedProfileArgs = { help: true; text: string } | {
  help: false;
  config: ProfileConfig;
  /** `--tune`: search the kernels' parameters before profiling */
  tune: boolean;
};

function parseSeqLens(text: string): number[] {
  const allowed =
    `expected comma-separated positive integers up to ${MAX_SEQ_LEN}, e.g. 10,100,1000`;
  const parts = text.split(",").map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) throw badValue("seq-lens", text, allowed);
  const lengths = parts.map(Number);
  if (lengths.some((n) => n < 1 || n > MAX_SEQ_LEN)) throw badValue("seq-lens", text, allowed);
  if (new Set(lengths).size !== lengths.length) {
    throw badValue("seq-lens", text, "each length may appear once");
  }
  return lengths.sort((a, b) => a - b);
}

/**
 * Parse and validate the flags of `deno task profile`.
 *
 * @example
 * ```ts
 * const parsed = parseProfileArgs(["--seq-lens", "10,100", "--runs", "5"]);
 * console.assert(!parsed.help && parsed.config.runs === 5);
 * ```
 */
export function parseProfileArgs(args: string[]): ParsedProfileArgs {
  const values = parseFlags(args, {
    "seq-lens": { type: "string" },
    "d-model": { type: "string" },
    heads: { type: "string" },
    runs: { type: "string" },
    warmup: { type: "string" },
    devices: { type: "string" },
    variants: { type: "string" },
    precision: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    "dump-tensors": { type: "boolean" },
    "dump-max": { type: "string" },
    quiet: { type: "boolean" },
    tune: { type: "boolean" },
    ...STANDARD_FLAGS,
  });
  const answer = standardAnswer(values, PROFILE_HELP);
  if (answer !== null) return { help: true, text: answer };

  const config: ProfileConfig = { ...DEFAULT_CONFIG, seqLens: [...DEFAULT_CONFIG.seqLens] };
  if (values["seq-lens"] !== undefined) config.seqLens = parseSeqLens(values["seq-lens"]);
  if (values["d-model"] !== undefined) {
    config.dModel = parseInteger("d-model", values["d-model"], 1, MAX_D_MODEL);
  }
  if (values.heads !== undefined) {
    config.heads = parseInteger("heads", values.heads, 1, MAX_D_MODEL);
  }
  if (config.dModel % config.heads !== 0) {
    throw new UsageError(
      `--d-model ${config.dModel} is not divisible by --heads ${config.heads}: ` +
        "each head must own dModel / heads columns",
    );
  }
  if (values.runs !== undefined) {
    const why = " (the standard error needs two runs)";
    config.runs = parseInteger("runs", values.runs, 2, MAX_RUNS, why);
  }
  if (values.warmup !== undefined) {
    config.warmup = parseInteger("warmup", values.warmup, 0, MAX_RUNS);
  }
  if (values.devices !== undefined) {
    config.devices = parseNameList<DeviceName>("devices", values.devices, DEVICE_NAMES);
    config.devicesExplicit = true;
  }
  if (values.variants !== undefined) {
    config.variants = parseNameList<VariantName>("variants", values.variants, VARIANT_NAMES);
  }
  if (values.precision !== undefined) {
    config.precisions = parseNameList<PrecisionName>(
      "precision",
      values.precision,
      PRECISION_NAMES,
    );
    if (config.precisions.includes("f16") && !config.devices.includes("gpu")) {
      throw new UsageError(
        `--precision ${values.precision} with --devices ${config.devices}: ` +
          "f16 applies to the GPU variants only; add gpu to --devices",
      );
    }
  }
  if (values.out !== undefined) {
    if (values.out.trim() === "") throw badValue("out", values.out, "expected a folder path");
    config.outDir = values.out;
  }
  if (values.seed !== undefined) config.seed = parseInteger("seed", values.seed, 0, 2 ** 32 - 1);
  if (values["dump-max"] !== undefined) {
    config.dumpMax = parseInteger("dump-max", values["dump-max"], 1, MAX_SEQ_LEN);
  }
  config.dumpTensors = values["dump-tensors"] ?? false;
  config.quiet = values.quiet ?? false;
  return { help: false, config, tune: values.tune ?? false };
}
