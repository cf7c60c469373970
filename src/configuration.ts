/**
 * Configurations: everything that defines the attention problem except n — batch, d_model, heads,
 * kv_heads, mask, attention, pass. Each is a flag taking a list; the profile runs the grid, every
 * combination one configuration (README.md, "Configurations and variants"). A series is a
 * configuration × an implementation.
 *
 * @module
 */

import type { AttentionKind, AttentionShape, MaskName } from "./shape.ts";

/** Forward only, or the training step's backward pass. */
export type PassName = "forward" | "backward";

/** Every pass, in report order. */
export const PASS_NAMES: readonly PassName[] = ["forward", "backward"];

/** One configuration as `profiling_results.json` records it. */
export interface Configuration {
  /** stable and file-name safe, e.g. `b1_d512_h8_kv8_full_softmax_forward` */
  id: string;
  /** independent sequences per forward */
  batch: number;
  /** the model width d_model */
  dModel: number;
  /** query heads */
  heads: number;
  /** key/value heads (grouped-query when fewer than heads) */
  kvHeads: number;
  /** the head width d_model / heads */
  dK: number;
  /** the flag's own text: `full`, `causal`, `sliding:256` */
  mask: string;
  /** W of `sliding:W`, else 0 */
  window: number;
  /** softmax or linear attention */
  attention: AttentionKind;
  /** forward, or backward (the gradients) */
  pass: PassName;
}

/** The lists of each axis, as the flags give them. */
export interface ConfigurationGrid {
  /** batch sizes */
  batch: number[];
  /** model widths */
  dModel: number[];
  /** query head counts */
  heads: number[];
  /** null: each configuration's own heads (multi-head attention) */
  kvHeads: number[] | null;
  /** flag texts: `full`, `causal`, `sliding:W` */
  mask: string[];
  /** attention kinds */
  attention: AttentionKind[];
  /** passes */
  pass: PassName[];
}

/** The seed experiment: one configuration. */
export const SEED_GRID: ConfigurationGrid = {
  batch: [1],
  dModel: [512],
  heads: [8],
  kvHeads: null,
  mask: ["full"],
  attention: ["softmax"],
  pass: ["forward"],
};

/** A mask's text parsed: `full`, `causal` or `sliding:W` with W a positive integer; else null. */
export function parseMask(text: string): { mask: MaskName; window: number } | null {
  if (text === "full" || text === "causal") return { mask: text, window: 0 };
  const sliding = /^sliding:([1-9]\d{0,8})$/.exec(text);
  return sliding ? { mask: "sliding", window: Number(sliding[1]) } : null;
}

/** The id of a configuration: every axis, in a fixed order. */
export function configurationId(c: Omit<Configuration, "id" | "dK">): string {
  const mask = c.mask.replace(":", "");
  return `b${c.batch}_d${c.dModel}_h${c.heads}_kv${c.kvHeads}_${mask}_${c.attention}_${c.pass}`;
}

/** The shape of a configuration at length n. */
export function shapeOf(c: Configuration, seqLen: number): AttentionShape {
  const { mask } = parseMask(c.mask)!;
  return {
    seqLen,
    dModel: c.dModel,
    heads: c.heads,
    batch: c.batch,
    kvHeads: c.kvHeads,
    mask,
    window: c.window,
    attention: c.attention,
  };
}

/** Why a cell of the grid cannot be a configuration (the first rule it breaks), or null. */
const CELL_RULES: readonly ((c: Omit<Configuration, "id" | "dK">) => string | null)[] = [
  (c) => c.dModel % c.heads === 0 ? null : `heads ${c.heads} do not divide d_model ${c.dModel}`,
  (c) => c.heads % c.kvHeads === 0 ? null : `kv_heads ${c.kvHeads} do not divide heads ${c.heads}`,
  (c) =>
    c.attention === "linear" && c.window > 0
      ? "linear attention has no sliding window (its masks are full and causal)"
      : null,
  (c) =>
    c.pass === "backward" && c.attention === "linear"
      ? "the backward pass is built for softmax attention only"
      : null,
];

/** A cell of the grid that is not a configuration, and why. */
export interface ImpossibleCell {
  description: string;
  reason: string;
}

/** Every cell of the grid in a fixed order: the configurations, and the impossible cells. */
export function expandGrid(
  grid: ConfigurationGrid,
): { configurations: Configuration[]; impossible: ImpossibleCell[] } {
  const configurations: Configuration[] = [];
  const impossible: ImpossibleCell[] = [];
  for (const dModel of grid.dModel) {
    for (const heads of grid.heads) {
      for (const kvHeads of grid.kvHeads ?? [heads]) {
        for (const batch of grid.batch) {
          for (const mask of grid.mask) {
            for (const attention of grid.attention) {
              for (const pass of grid.pass) {
                const window = parseMask(mask)?.window ?? 0;
                const cell = { batch, dModel, heads, kvHeads, mask, window, attention, pass };
                const reason = CELL_RULES.map((rule) => rule(cell)).find((r) => r !== null);
                if (reason) impossible.push({ description: configurationId(cell), reason });
                else {
                  configurations.push({ id: configurationId(cell), ...cell, dK: dModel / heads });
                }
              }
            }
          }
        }
      }
    }
  }
  return { configurations, impossible };
}
