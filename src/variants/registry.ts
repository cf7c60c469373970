/**
 * The GPU variant registry: each variant declared once, as data — its stages in order, what it
 * keeps live, which configurations it runs, how its series look. Series names, stage lists, report
 * columns, NPZ names, figure colours and bench cases are derived from this table; the GPU side of
 * each variant (its buffers and dispatches) is its module in src/gpu/variants/, keyed by the same
 * name. A low module: nothing of the GPU is imported, so the file writers and figures can use it.
 *
 * Adding a variant: an entry here, its plan module in src/gpu/variants/ (registered in
 * src/gpu/variants/mod.ts), its WGSL, its tests.
 *
 * @module
 */

import { scoreMatrixElements } from "../memory.ts";
import type { AttentionKind, ResolvedShape } from "../shape.ts";

/** Storage precision of the GPU variants (arithmetic is f32 in both); f16 needs `shader-f16`. */
export type PrecisionName = "f32" | "f16";

/** Every precision, in report order. */
export const PRECISION_NAMES: readonly PrecisionName[] = ["f32", "f16"];

/** Marker shapes of series (Plot symbol names). */
export type MarkerShape = "circle" | "square" | "triangle" | "diamond" | "cross";

/** How one series of a variant looks at one precision. */
export interface SeriesStyle {
  color: string;
  marker: MarkerShape;
}

/** One GPU variant. */
export interface VariantSpec {
  /** one line: what it computes and how */
  label: string;
  /** the attention it computes: softmax variants are chosen by `--variants`, the linear ones run
   * for every configuration of `--attention linear` */
  attention: AttentionKind;
  /** its stages in order (names of src/variants/stages.ts): one compute pass each */
  stages: readonly string[];
  /**
   * its backward's stages in order (the `backward` pass: the gradients of L = Σ(out ⊙ dOut)), or
   * null where its backward is not built
   */
  backwardStages: readonly string[] | null;
  /** score elements it stores per forward, all heads and sequences (the `scores` memory class) */
  storedScores(shape: ResolvedShape): number;
  /** why it does not run this configuration, or null when it does */
  unsupported(shape: ResolvedShape): string | null;
  /** colour and marker per precision (Okabe–Ito palette, colour-blind safe) */
  style: Readonly<Record<PrecisionName, SeriesStyle>>;
}

/** Softmax attention only (linear attention is its own variant). */
function softmaxOnly(shape: ResolvedShape): string | null {
  return shape.attention === "softmax" ? null : `runs softmax attention, not ${shape.attention}`;
}

/** Linear attention, masks full and causal. */
function linearOnly(shape: ResolvedShape): string | null {
  if (shape.attention !== "linear") return `runs linear attention, not ${shape.attention}`;
  return shape.mask === "sliding" ? "linear attention has no sliding window" : null;
}

/** The registry, in report order. */
export const VARIANTS = {
  naive: {
    attention: "softmax",
    label: "five kernels; every head's scores stored (O(n²) memory)",
    stages: ["projection_qkv", "scores", "softmax", "weighted_values", "output_projection"],
    backwardStages: [
      "output_projection_backward",
      "backward_row_dot",
      "naive_backward_ds",
      "naive_backward_dq",
      "naive_backward_dkdv",
      "projection_qkv_backward",
    ],
    storedScores: (shape) => shape.batch * shape.heads * scoreMatrixElements(shape),
    unsupported: softmaxOnly,
    style: {
      f32: { color: "#d55e00", marker: "square" },
      f16: { color: "#e69f00", marker: "diamond" },
    },
  },
  fused: {
    attention: "softmax",
    label: "flash attention: online softmax over key blocks, no score matrix (O(n) memory)",
    stages: ["projection_qkv", "flash_attention", "output_projection"],
    backwardStages: [
      "output_projection_backward",
      "backward_row_dot",
      "flash_backward_kv",
      "flash_backward_q",
      "projection_qkv_backward",
    ],
    storedScores: () => 0,
    unsupported: softmaxOnly,
    style: {
      f32: { color: "#009e73", marker: "triangle" },
      f16: { color: "#cc79a7", marker: "cross" },
    },
  },
  linear: {
    attention: "linear",
    label: "linear attention, φ = elu + 1: per-chunk states S = Σ φ(k)vᵀ, no scores (O(n) memory)",
    stages: [
      "projection_qkv",
      "linear_state",
      "linear_prefix",
      "linear_output",
      "output_projection",
    ],
    backwardStages: null,
    storedScores: () => 0,
    unsupported: linearOnly,
    style: {
      f32: { color: "#56b4e9", marker: "diamond" },
      f16: { color: "#000000", marker: "square" },
    },
  },
} as const satisfies Record<string, VariantSpec>;

/** A GPU variant's name. */
export type VariantName = keyof typeof VARIANTS;

/** Every variant, in report order. */
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

/**
 * The stages whose work the FLOPs table of a configuration counts: the seed's five for softmax
 * attention (a fused stage is the sum of those it covers), the linear variant's for linear.
 */
export const WORK_STAGES: Readonly<Record<AttentionKind, readonly string[]>> = {
  softmax: VARIANTS.naive.stages,
  linear: VARIANTS.linear.stages,
};

/** The softmax variants: what `--variants` chooses among. */
export const SOFTMAX_VARIANT_NAMES = VARIANT_NAMES.filter((name) =>
  VARIANTS[name].attention === "softmax"
);

/** The style of the CPU path's series. */
export const CPU_STYLE: SeriesStyle = { color: "#0072b2", marker: "circle" };

/** A series' implementation: the CPU path, or a GPU variant at a precision. */
export type Implementation =
  | { device: "cpu" }
  | { device: "gpu"; variant: VariantName; precision: PrecisionName };

/**
 * The implementation part of a series name: `cpu`, `gpu_<variant>`, `gpu_<variant>_f16`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(implementationName({ device: "gpu", variant: "fused", precision: "f16" }), "gpu_fused_f16");
 * ```
 */
export function implementationName(implementation: Implementation): string {
  if (implementation.device === "cpu") return "cpu";
  const storage = implementation.precision === "f32" ? "" : `_${implementation.precision}`;
  return `gpu_${implementation.variant}${storage}`;
}

/** Every implementation the data files always hold (NaN-filled where not run), in report order. */
export const ALL_IMPLEMENTATIONS: readonly Implementation[] = [
  { device: "cpu" },
  ...PRECISION_NAMES.flatMap((precision) =>
    VARIANT_NAMES.map((variant) => ({ device: "gpu" as const, variant, precision }))
  ),
];

/**
 * Whether `name` is a series name: an implementation's, alone or followed by `__<configuration id>`.
 */
export function isSeriesName(name: unknown): name is string {
  if (typeof name !== "string") return false;
  const [implementation, configuration, ...rest] = name.split("__");
  const known = ALL_IMPLEMENTATIONS.some((i) => implementationName(i) === implementation);
  return known && rest.length === 0 &&
    (configuration === undefined || /^[a-z0-9_]+$/.test(configuration));
}
