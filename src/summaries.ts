/**
 * Derived numbers of a series: each point's summaries, the fitted scaling exponent and the local
 * slopes. Derived from the raw samples every time, so they can never disagree with them.
 *
 * @module
 */

import type { SeriesResult } from "./results.ts";
import { fitScaling, localSlopes, summarize } from "./stats.ts";

/** Lengths below this are dominated by fixed overhead and stay out of the exponent fit. */
export const SCALING_FIT_MIN_SEQ_LEN = 1000;

/**
 * Fill a series' summaries from its raw samples: per point (status "ok" only) the wall-clock and
 * per-stage summaries; per series the scaling fit (log time on log n over every timed run of the
 * points with n ≥ 1000) and the local slopes between consecutive means.
 */
export function finalizeSeries(series: SeriesResult): void {
  for (const point of series.points) {
    if (point.status !== "ok" || point.wallMs.length < 2) continue;
    point.wallMsSummary = summarize(point.wallMs);
    if (point.forwardWallMs !== undefined && point.forwardWallMs.length >= 2) {
      point.forwardWallMsSummary = summarize(point.forwardWallMs);
    }
    const kernelMs = point.kernelMs;
    if (kernelMs !== undefined && kernelMs.length >= 2) {
      const stageCount = kernelMs[0]!.length;
      point.kernelMsSummary = Array.from(
        { length: stageCount },
        (_, stage) => summarize(kernelMs.map((run) => run[stage]!)),
      );
    }
  }
  const measured = series.points.filter((p) => p.wallMsSummary !== undefined);
  const seqLens = measured.map((p) => p.seqLen);
  const means = measured.map((p) => p.wallMsSummary!.mean);
  series.localSlopes = localSlopes(seqLens, means);
  // fitted over every timed run, not the means: with the seed's two lengths ≥ 1000 a fit of two
  // means has no interval, while the runs' scatter gives one
  const large = measured.filter((p) => p.seqLen >= SCALING_FIT_MIN_SEQ_LEN);
  const fit = large.length < 2 ? undefined : fitScaling(
    large.flatMap((p) => p.wallMs.map(() => p.seqLen)),
    large.flatMap((p) => p.wallMs),
  );
  series.scaling = fit && { ...fit, seqLens: large.map((p) => p.seqLen) };
}
