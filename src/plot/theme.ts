/**
 * The look of every figure: series and stage colours (one colour per series across all panels),
 * series markers, fonts and sizes. Colours are the Okabe–Ito palette for series (colour-blind safe)
 * and Paul Tol's "muted" palette for stages, so a stage is never mistaken for a series.
 *
 * @module
 */

import type { SeriesName } from "../results.ts";

/** Series in drawing and legend order. */
export const SERIES_ORDER: readonly SeriesName[] = [
  "cpu",
  "gpu_naive",
  "gpu_fused",
  "gpu_naive_f16",
  "gpu_fused_f16",
];

/** One colour per series, the same in every panel and figure. */
export const SERIES_COLORS: Readonly<Record<SeriesName, string>> = {
  cpu: "#0072b2",
  gpu_naive: "#d55e00",
  gpu_fused: "#009e73",
  gpu_naive_f16: "#e69f00",
  gpu_fused_f16: "#cc79a7",
};

/** Short names for in-panel annotations (the legend carries the full `series.label`). */
export const SERIES_SHORT_NAMES: Readonly<Record<SeriesName, string>> = {
  cpu: "CPU",
  gpu_naive: "GPU naive",
  gpu_fused: "GPU fused",
  gpu_naive_f16: "GPU naive f16",
  gpu_fused_f16: "GPU fused f16",
};

/** Marker shape per series, so the series stay apart in greyscale. */
export type MarkerShape = "circle" | "square" | "triangle" | "diamond" | "cross";

/** Marker of each series (Plot symbol names). */
export const SERIES_MARKERS: Readonly<Record<SeriesName, MarkerShape>> = {
  cpu: "circle",
  gpu_naive: "square",
  gpu_fused: "triangle",
  gpu_naive_f16: "diamond",
  gpu_fused_f16: "cross",
};

/** Stages in pipeline order (FLOP stages and GPU kernel stages together). */
export const STAGE_ORDER: readonly string[] = [
  "projection_qkv",
  "scores",
  "softmax",
  "weighted_values",
  "flash_attention",
  "output_projection",
];

/** One colour per stage, in the FLOPs panel and the kernel breakdown alike. */
export const STAGE_COLORS: Readonly<Record<string, string>> = {
  projection_qkv: "#88ccee",
  scores: "#cc6677",
  softmax: "#ddcc77",
  weighted_values: "#aa4499",
  flash_attention: "#44aa99",
  output_projection: "#332288",
};

/** Human names of stages. */
export const STAGE_LABELS: Readonly<Record<string, string>> = {
  projection_qkv: "Q/K/V projection",
  scores: "scores Q·Kᵀ (+ scale)",
  softmax: "softmax",
  weighted_values: "weighted values A·V",
  flash_attention: "flash attention (fused)",
  output_projection: "output projection",
};

/** Colour for a stage not in the table (a future kernel), so it still renders. */
export const UNKNOWN_STAGE_COLOR = "#bbbbbb";

/** The stage's colour, or a neutral grey for an unknown stage. */
export function stageColor(stage: string): string {
  return STAGE_COLORS[stage] ?? UNKNOWN_STAGE_COLOR;
}

/** The stage's human name, or its key. */
export function stageLabel(stage: string): string {
  return STAGE_LABELS[stage] ?? stage;
}

/** Stages sorted in pipeline order; unknown stages keep their order after the known ones. */
export function sortStages(stages: Iterable<string>): string[] {
  const unique = [...new Set(stages)];
  const rank = (stage: string) => {
    const index = STAGE_ORDER.indexOf(stage);
    return index < 0 ? STAGE_ORDER.length : index;
  };
  return unique
    .map((stage, index) => ({ stage, index }))
    .sort((a, b) => rank(a.stage) - rank(b.stage) || a.index - b.index)
    .map(({ stage }) => stage);
}

/** The font every figure uses; the rasteriser is given exactly these files. */
export const FONT_FAMILY = "DejaVu Sans";

/** Font files of the `dejavu-fonts-ttf` package, regular and bold. */
export const FONT_FILES = { regular: "DejaVuSans.ttf", bold: "DejaVuSans-Bold.ttf" } as const;

/** Font sizes in SVG pixels (the PNG is rendered at 2× density). */
export const FONT_SIZES = {
  title: 18,
  subtitle: 12,
  panelTitle: 14,
  key: 11,
  tick: 11,
  footer: 10.5,
} as const;

/** Text colours. */
export const TEXT_COLORS = { main: "#111111", muted: "#555555", faint: "#888888" } as const;

/** Pixel density of the PNGs. */
export const PNG_SCALE = 2;
