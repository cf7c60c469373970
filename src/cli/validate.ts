/**
 * `deno task validate`: every GPU kernel variant against the CPU path over a battery of shapes,
 * forward and (where a variant's is built) backward: every gradient against the CPU backward's.
 *
 * Fresh seeded inputs (the seed is printed, `--seed` repeats a run), GPU output buffers poisoned
 * with NaN before each forward, outputs compared with the CPU path by relative L2 error (1e-4 for
 * f32). Prints one row per (variant, n, d_model, heads) and exits 1 on any failure, 2 on bad flags
 * or when there is no GPU adapter (1 in CI, where a missing adapter is a failure).
 *
 * @module
 */

import { PRECISION_NAMES, type PrecisionName, VARIANT_NAMES, type VariantName } from "../config.ts";
import { parseInteger, parseNameList } from "./flag_values.ts";
import { reportNoAdapter } from "./no_adapter.ts";
import { generateInputs, generateUpstreamGradient } from "../random.ts";
import type { AttentionInputs, AttentionShape } from "../shape.ts";
import { type GpuContext, openGpu } from "../gpu/device.ts";
import { GpuAttention } from "../gpu/gpu_attention.ts";
import type { Precision, TuningName } from "../gpu/kernels.ts";
import { compareOutputs, GPU_TOLERANCES } from "../gpu/validation.ts";
import { applyTuning } from "../gpu/tuning.ts";
import { parseFlags, STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, runCli } from "./usage_error.ts";
import type { ValidationResult } from "../results.ts";
import { CpuAttention } from "../reference/cpu_attention.ts";
import type { AttentionGradients } from "../gradients.ts";
import { validateBackwardPoint } from "./validate_backward.ts";

/** The CPU path's forward output and backward gradients (a fresh pool, closed afterwards). */
async function cpuBackward(
  inputs: AttentionInputs,
  dOut: Float32Array,
): Promise<{ out: Float32Array; gradients: AttentionGradients }> {
  const cpu = await CpuAttention.create();
  try {
    cpu.load(inputs, { backward: true });
    const { out } = await cpu.forward();
    return { out, gradients: (await cpu.backward(dOut)).gradients };
  } finally {
    cpu.close();
  }
}

/** Sequence lengths of the battery: 1, 2, around a multiple of 64, and around 1024. */
export const BATTERY_SEQ_LENS: readonly number[] = [1, 2, 63, 65, 1000, 1023];

/** (d_model, heads) of the battery: one head, an odd head count with d_k 32, the profile's shape. */
export const BATTERY_WIDTHS: readonly { dModel: number; heads: number }[] = [
  { dModel: 64, heads: 1 },
  { dModel: 96, heads: 3 },
  { dModel: 512, heads: 8 },
];

const USAGE =
  `Usage: deno task validate [--seed N] [--variants naive,fused] [--tuning software|hardware]
                          [--precision f32,f16]

Runs every GPU kernel variant over n ∈ {${BATTERY_SEQ_LENS.join(", ")}} × (d_model, heads) ∈ {${
    BATTERY_WIDTHS.map((w) => `(${w.dModel},${w.heads})`).join(", ")
  }}
and compares each output, and each backward's gradients ("bwd" rows: the worst gradient), with the
CPU path (relative L2 tolerance ${GPU_TOLERANCES.f32}; f16 ${GPU_TOLERANCES.f16}).
  --seed N        seed of inputs and weights (default: a fresh random seed, printed)
  --variants      GPU variants to check (default: ${VARIANT_NAMES.join(",")})
  --tuning        kernel parameters (default: software on a software adapter, else hardware)
  --precision     storage precisions to check: f32,f16 (default: f32; f16 needs shader-f16)
  -h, --help      this text
  --version       the version of this tool and of Deno
Exit codes: 0 all passed, 1 a mismatch or GPU error, 2 bad flags or no GPU adapter (1 in CI).`;

/** One row of the table. */
export interface ValidationRow {
  variant: VariantName;
  precision: Precision;
  shape: AttentionShape;
  status: "passed" | "FAILED" | "skipped";
  validation?: ValidationResult;
  reason?: string;
  /** `backward`: the worst gradient of the backward (default: the forward's output) */
  pass?: "backward";
}

/** Run one variant at one shape and compare its output. */
export async function validatePoint(
  gpu: GpuContext,
  variant: VariantName,
  inputs: AttentionInputs,
  reference: Float32Array,
  tuning?: TuningName,
  precision: Precision = "f32",
): Promise<ValidationRow> {
  const shape = inputs.shape;
  const fit = GpuAttention.preflight(gpu, variant, shape, { tuning, precision });
  if (!fit.fits) return { variant, precision, shape, status: "skipped", reason: fit.reason };
  let attention: GpuAttention | null = null;
  try {
    attention = await GpuAttention.create(gpu, variant, shape, { tuning, precision });
    await attention.upload(inputs);
    await attention.poison();
    await attention.forward();
    const { out } = await attention.readback();
    const validation = compareOutputs(out, reference, GPU_TOLERANCES[precision]);
    const status = validation.passed ? "passed" : "FAILED";
    return { variant, precision, shape, status, validation };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { variant, precision, shape, status: "FAILED", reason };
  } finally {
    attention?.destroy();
  }
}

function formatRow(row: ValidationRow): string {
  const error = (value: number | undefined) =>
    value === undefined ? "—" : Number.isNaN(value) ? "NaN" : value.toExponential(2);
  const cells = [
    (row.variant + (row.pass === "backward" ? " bwd" : "")).padEnd(9),
    row.precision.padEnd(4),
    String(row.shape.seqLen).padStart(5),
    String(row.shape.dModel).padStart(7),
    String(row.shape.heads).padStart(5),
    error(row.validation?.maxAbsError).padStart(11),
    error(row.validation?.relL2Error).padStart(10),
    `  ${row.status}${row.reason ? `: ${row.reason}` : ""}`,
  ];
  return cells.join(" ");
}

async function main(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    seed: { type: "string" },
    variants: { type: "string" },
    tuning: { type: "string" },
    precision: { type: "string" },
    ...STANDARD_FLAGS,
  });
  const answer = standardAnswer(values, USAGE);
  if (answer !== null) {
    console.log(answer);
    return 0;
  }
  const seed = values.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : parseInteger("seed", values.seed, 0, 2 ** 32 - 1);
  const variants = parseNameList<VariantName>(
    "variants",
    values.variants ?? VARIANT_NAMES.join(","),
    VARIANT_NAMES,
  );
  const tuning = values.tuning as TuningName | undefined;
  if (tuning !== undefined && tuning !== "software" && tuning !== "hardware") {
    throw badValue("tuning", tuning, "expected software or hardware");
  }
  const precisions = parseNameList<PrecisionName>(
    "precision",
    values.precision ?? "f32",
    PRECISION_NAMES,
  );

  const gpu = await openGpu();
  if (gpu === null) return reportNoAdapter();
  try {
    // the cached tuning of this adapter (if any) is what the profile runs: validate that
    if (tuning === undefined) await applyTuning(gpu);
    const software = gpu.adapter.isSoftware ? " (software adapter)" : "";
    console.log(`adapter: ${gpu.adapter.description}${software}`);
    console.log(
      `seed: ${seed}    reference: the CPU path    tolerance: relative L2 ≤ ${
        precisions.map((precision) => `${GPU_TOLERANCES[precision]} (${precision})`)
          .join(", ")
      }`,
    );
    console.log(`variant   prec     n d_model heads max abs err    rel L2`);
    const rows: ValidationRow[] = [];
    for (const { dModel, heads } of BATTERY_WIDTHS) {
      for (const seqLen of BATTERY_SEQ_LENS) {
        const inputs = generateInputs({ seqLen, dModel, heads }, seed);
        const dOut = generateUpstreamGradient(inputs.shape, seed);
        const { out: expected, gradients } = await cpuBackward(inputs, dOut);
        for (const variant of variants) {
          for (const precision of precisions) {
            const forward = await validatePoint(gpu, variant, inputs, expected, tuning, precision);
            const backward = await validateBackwardPoint(gpu, variant, inputs, dOut, gradients, {
              tuning,
              precision,
            });
            rows.push(forward, backward);
            console.log(formatRow(forward));
            console.log(formatRow(backward));
          }
        }
      }
    }
    const failed = rows.filter((row) => row.status === "FAILED").length;
    const skipped = rows.filter((row) => row.status === "skipped").length;
    const worst = Math.max(...rows.map((row) => row.validation?.relL2Error ?? 0));
    console.log(
      `${rows.length - failed - skipped} passed, ${failed} failed` +
        (skipped ? `, ${skipped} skipped` : "") +
        ` (largest relative L2 error ${worst.toExponential(2)}; seed ${seed})`,
    );
    return failed > 0 ? 1 : 0;
  } finally {
    gpu.destroy();
  }
}

if (import.meta.main) {
  await runCli(() => main(Deno.args));
}
