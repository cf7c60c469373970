/**
 * A seeded percentile bootstrap of the ratio of two medians: how sure are we that one set of
 * timings is slower than another? The median, because timing noise here comes in bursts (a few
 * slow runs) that move a mean but hardly a median; a bootstrap, because the ratio of two medians
 * has no closed-form interval and the runs are few (5–20) and far from normal. Repeated profiles
 * of one setup are resampled in two levels (profiles, then their runs), as pyperf pools the runs
 * of its worker processes: a state that differs between processes moves all runs of one.
 *
 * @module
 */

import { SeededRandom } from "../random.ts";
import { median } from "../stats.ts";

/** The ratio of medians `next / base` with its bootstrap interval. */
export interface RatioInterval {
  /** median(next) / median(base) of the samples themselves */
  ratio: number;
  /** percentile interval of the resampled ratios, at `confidence` */
  ci: [number, number];
  /** the interval's confidence, e.g. 0.95 */
  confidence: number;
}

/** Options of {@link bootstrapMedianRatio}. */
export interface BootstrapOptions {
  /** seeds the resampling: the same samples and seed give the same interval */
  seed: number;
  /** resamples drawn (each resamples both sets, independently) */
  resamples: number;
  /** coverage of the interval, e.g. 0.95 */
  confidence: number;
}

/** The default: 10 000 resamples, 95 %, seed 1. */
export const DEFAULT_BOOTSTRAP: BootstrapOptions = { seed: 1, resamples: 10_000, confidence: 0.95 };

/** Linear-interpolated quantile (type 7) of sorted values. */
function quantileSorted(sorted: Float64Array, p: number): number {
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const low = sorted[below]!;
  return low + (sorted[Math.ceil(position)]! - low) * (position - below);
}

/**
 * The median of a two-level resample of `groups` (each one profile's runs), drawn into `scratch`:
 * as many groups as there are, drawn with replacement, then each drawn group's runs with
 * replacement (a hierarchical bootstrap, so a level that differs between profiles widens the
 * interval). One group: its runs alone, as a plain bootstrap draws them.
 */
function resampledMedian(
  groups: readonly (readonly number[])[],
  scratch: Float64Array,
  random: SeededRandom,
) {
  let filled = 0;
  for (let g = 0; g < groups.length; g++) {
    const group = groups.length === 1 ? groups[0]! : groups[random.nextUint32() % groups.length]!;
    // a drawn group brings as many draws as it has runs (scratch has room for the most)
    for (let i = 0; i < group.length; i++) {
      scratch[filled++] = group[random.nextUint32() % group.length]!;
    }
  }
  const drawn = scratch.subarray(0, filled).sort();
  return quantileSorted(drawn, 0.5);
}

/**
 * Ratio of medians `next / base` and its percentile-bootstrap interval: each resample draws both
 * sets with replacement (independently: the runs of two profiles are not paired).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const r = bootstrapMedianRatio([10, 11, 10.5], [20, 21, 20.5], DEFAULT_BOOTSTRAP);
 * assert(r.ratio > 1.9 && r.ci[0] > 1.8);
 * ```
 */
export function bootstrapMedianRatio(
  base: readonly number[],
  next: readonly number[],
  options: BootstrapOptions,
): RatioInterval {
  return bootstrapGroupedMedianRatio([base], [next], options);
}

/**
 * Ratio of the pooled medians `next / base` of repeated profiles (each side: one array of runs per
 * profile) and its interval by a hierarchical bootstrap (profiles, then runs within them): the runs
 * of one process share its state (thread placement, clocks, what else ran), so a level that moves
 * between processes is only seen across profiles. One profile per side is the plain bootstrap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // three profiles per side, one of NEW's in a slower state
 * const base = [[10, 10.1, 10.2], [10.1, 10, 10.2], [9.9, 10, 10.1]];
 * const next = [[10, 10.2, 10.1], [12, 12.1, 12.2], [10, 9.9, 10.1]];
 * const r = bootstrapGroupedMedianRatio(base, next, DEFAULT_BOOTSTRAP);
 * assert(r.ci[0] <= 1 && 1 <= r.ci[1]);
 * ```
 */
export function bootstrapGroupedMedianRatio(
  base: readonly (readonly number[])[],
  next: readonly (readonly number[])[],
  options: BootstrapOptions,
): RatioInterval {
  const sizes = (groups: readonly (readonly number[])[]) => groups.map((group) => group.length);
  if (base.length === 0 || next.length === 0 || [...sizes(base), ...sizes(next)].includes(0)) {
    throw new RangeError("no samples to compare");
  }
  const random = new SeededRandom(options.seed);
  // room for the most runs a resample can draw: as many of the largest group as there are groups
  const room = (groups: readonly (readonly number[])[]) =>
    groups.length * Math.max(...sizes(groups));
  const baseScratch = new Float64Array(room(base));
  const nextScratch = new Float64Array(room(next));
  const ratios = new Float64Array(options.resamples);
  for (let i = 0; i < options.resamples; i++) {
    const baseMedian = resampledMedian(base, baseScratch, random);
    ratios[i] = resampledMedian(next, nextScratch, random) / baseMedian;
  }
  ratios.sort();
  const tail = (1 - options.confidence) / 2;
  return {
    ratio: median(next.flat()) / median(base.flat()),
    ci: [quantileSorted(ratios, tail), quantileSorted(ratios, 1 - tail)],
    confidence: options.confidence,
  };
}
