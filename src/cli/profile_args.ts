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
  type VariantName,
} from "../config.ts";
import {
  type ConfigurationGrid,
  expandGrid,
  PASS_NAMES,
  type PassName,
  SEED_GRID,
} from "../configuration.ts";
import { ATTENTION_KINDS, type AttentionKind } from "../shape.ts";
import { SOFTMAX_VARIANT_NAMES } from "../variants/registry.ts";
import { parseInteger, parseIntegerList, parseMaskList, parseNameList } from "./flag_values.ts";
import { parseFlags, STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, UsageError } from "./usage_error.ts";

/** Largest accepted `--seq-lens` entry; whether a length fits is decided later by preflight. */
export const MAX_SEQ_LEN = 1_000_000;
/** Largest accepted `--d-model`. */
export const MAX_D_MODEL = 16_384;
/** Largest accepted `--batch`. */
export const MAX_BATCH = 4096;
/** Largest accepted `--runs` and `--warmup`. */
export const MAX_RUNS = 100_000;

/** The help text of `deno task profile --help`. */
export const PROFILE_HELP =
  `Profile multi-head self-attention across sequence lengths on the CPU and GPU paths.

Usage: deno task profile [flags]

  --seq-lens LIST     comma-separated positive integers       (default ${DEFAULT_CONFIG.seqLens})
  --d-model LIST      model widths, divisible by --heads      (default ${DEFAULT_CONFIG.dModel})
  --heads LIST        attention heads                         (default ${DEFAULT_CONFIG.heads})
  --kv-heads LIST     key/value heads (grouped-query; 1 = multi-query), dividing --heads
                                                              (default: --heads)
  --batch LIST        sequences per forward                   (default 1)
  --mask LIST         full, causal, sliding:W (the W most recent keys)   (default full)
  --attention LIST    softmax, linear (φ = elu + 1)           (default softmax)
  --pass LIST         forward, backward (the training step's gradients)  (default forward)
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

/** Flags of the configuration axes, as parseArgs gives them. */
interface GridFlags {
  "d-model"?: string;
  heads?: string;
  "kv-heads"?: string;
  batch?: string;
  mask?: string;
  attention?: string;
  pass?: string;
}

/**
 * The configuration grid of the flags: every list checked; a grid where no cell is possible is
 * bad input (one line with the first cell's reason).
 */
function parseGrid(values: GridFlags): ConfigurationGrid {
  const list = (flag: keyof GridFlags, max: number, fallback: number[]) => {
    const text = values[flag];
    return text === undefined ? fallback : parseIntegerList(flag, text, 1, max);
  };
  const grid: ConfigurationGrid = {
    dModel: list("d-model", MAX_D_MODEL, SEED_GRID.dModel),
    heads: list("heads", MAX_D_MODEL, SEED_GRID.heads),
    kvHeads: values["kv-heads"] === undefined
      ? null
      : parseIntegerList("kv-heads", values["kv-heads"], 1, MAX_D_MODEL),
    batch: list("batch", MAX_BATCH, SEED_GRID.batch),
    mask: values.mask === undefined ? SEED_GRID.mask : parseMaskList("mask", values.mask),
    attention: values.attention === undefined
      ? SEED_GRID.attention
      : parseNameList<AttentionKind>("attention", values.attention, ATTENTION_KINDS),
    pass: values.pass === undefined
      ? SEED_GRID.pass
      : parseNameList<PassName>("pass", values.pass, PASS_NAMES),
  };
  const { configurations, impossible } = expandGrid(grid);
  if (configurations.length === 0) {
    const first = impossible[0]!;
    const single = impossible.length === 1;
    throw new UsageError(
      single && first.reason.startsWith("heads ")
        ? `--d-model ${grid.dModel[0]} is not divisible by --heads ${grid.heads[0]}: ` +
          "each head must own dModel / heads columns"
        : `no configuration of the grid can run: ${first.description}: ${first.reason}`,
    );
  }
  return grid;
}

/**
 * Parse and validate the flags of `deno task profile`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const parsed = parseProfileArgs(["--seq-lens", "10,100", "--runs", "5"]);
 * assert(!parsed.help && parsed.config.runs === 5);
 * ```
 */
export function parseProfileArgs(args: string[]): ParsedProfileArgs {
  const values = parseFlags(args, {
    "seq-lens": { type: "string" },
    "d-model": { type: "string" },
    heads: { type: "string" },
    "kv-heads": { type: "string" },
    batch: { type: "string" },
    mask: { type: "string" },
    attention: { type: "string" },
    pass: { type: "string" },
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
  config.grid = parseGrid(values);
  config.dModel = config.grid.dModel[0]!;
  config.heads = config.grid.heads[0]!;
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
    config.variants = parseNameList<VariantName>(
      "variants",
      values.variants,
      SOFTMAX_VARIANT_NAMES,
    );
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
