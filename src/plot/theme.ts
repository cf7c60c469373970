/**
 * The look of every figure: series and stage colours (one colour per series across all panels),
 * series markers, fonts and sizes. Colours are the Okabe–Ito palette for series (colour-blind safe)
 * and Paul Tol's "muted" palette for stages, so a stage is never mistaken for a series.
 *
 * @module
 */

import type { SeriesResult } from "../results.ts";
import {
  ALL_IMPLEMENTATIONS,
  CPU_STYLE,
  type Implementation,
  implementationName,
  type MarkerShape,
  type SeriesStyle,
  VARIANTS,
} from "../variants/registry.ts";
import { STAGES } from "../variants/stages.ts";

/** What a series' look depends on: its implementation. */
export type SeriesIdentity = Pick<SeriesResult, "device" | "variant" | "precision">;

function _implementation(series: SeriesIdentity): Implementation | null {
  if (series.device === "cpu") return { device: "cpu" };
  if (series.variant === undefined || !(series.variant in VARIANTS)) return null;
  return { device: "gpu", variant: series.variant, precision: series.precision ?? "f32" };
}

/** Colour and marker of a series: one per implementation, the same in every panel and figure. */
export function seriesStyle(series: SeriesIdentity): SeriesStyle {
  const implementation = _implementation(series);
  if (implementation === null) return { color: UNKNOWN_STAGE_COLOR, marker: "circle" };
  return implementation.device === "cpu"
    ? CPU_STYLE
    : VARIANTS[implementation.variant].style[implementation.precision];
}

/** Drawing and legend rank of a series: the registry's order of implementations. */
export function seriesRank(series: SeriesIdentity): number {
  const name = (() => {
    const implementation = _implementation(series);
    return implementation === null ? null : implementationName(implementation);
  })();
  const index = ALL_IMPLEMENTATIONS.findIndex((i) => implementationName(i) === name);
  return index < 0 ? ALL_IMPLEMENTATIONS.length : index;
}

/** Short name for in-panel annotations: `CPU`, `GPU fused`, `GPU naive f16`. */
export function seriesShortName(series: SeriesIdentity): string | undefined {
  const implementation = _implementation(series);
  if (implementation === null) return undefined;
  if (implementation.device === "cpu") return "CPU";
  const storage = implementation.precision === "f32" ? "" : ` ${implementation.precision}`;
  return `GPU ${implementation.variant}${storage}`;
}

/** Marker shape per series, so the series stay apart in greyscale. */
export type { MarkerShape };

/** Stages in pipeline order (FLOP stages and GPU kernel stages together). */
export const STAGE_ORDER: readonly string[] = STAGES.map((stage) => stage.name);

/** One colour per stage, in the FLOPs panel and the kernel breakdown alike. */
export const STAGE_COLORS: Readonly<Record<string, string>> = Object.fromEntries(
  STAGES.map((stage) => [stage.name, stage.color]),
);

/** Human names of stages. */
export const STAGE_LABELS: Readonly<Record<string, string>> = Object.fromEntries(
  STAGES.map((stage) => [stage.name, stage.label]),
);

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
