/**
 * A seeded percentile bootstrap of the ratio of two medians: how sure are we that one set of
 * timings is slower than another? The median, because timing noise here comes in bursts (a few
 * slow runs) that move a mean but hardly a median; a bootstrap, because the ratio of two medians
 * has no closed-form interval and the runs are few (5–20) and far from normal.
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

/** The median of a resample (with replacement) of `samples`, drawn into `scratch`. */
function resampledMedian(samples: readonly number[], scratch: Float64Array, random: SeededRandom) {
  for (let i = 0; i < scratch.length; i++) {
    scratch[i] = samples[random.nextUint32() % samples.length]!;
  }
  scratch.sort();
  return quantileSorted(scratch, 0.5);
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
  if (base.length === 0 || next.length === 0) throw new RangeError("no samples to compare");
  const random = new SeededRandom(options.seed);
  const baseScratch = new Float64Array(base.length);
  const nextScratch = new Float64Array(next.length);
  const ratios = new Float64Array(options.resamples);
  for (let i = 0; i < options.resamples; i++) {
    const baseMedian = resampledMedian(base, baseScratch, random);
    ratios[i] = resampledMedian(next, nextScratch, random) / baseMedian;
  }
  ratios.sort();
  const tail = (1 - options.confidence) / 2;
  return {
    ratio: median(next) / median(base),
    ci: [quantileSorted(ratios, tail), quantileSorted(ratios, 1 - tail)],
    confidence: options.confidence,
  };
}
