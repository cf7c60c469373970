/**
 * Statistics of repeated timings: the summary of one point and the scaling exponent of a series.
 * Variances use n − 1; outliers are labelled (Tukey fences), never removed.
 *
 * @module
 */

import { studentTQuantile as tQuantile } from "./student_t.ts";

/** A Tukey outlier: outside Q1 − 1.5·IQR … Q3 + 1.5·IQR (mild) or 3·IQR (severe). */
export interface Outlier {
  /** index of the sample in run order */
  index: number;
  /** the sample */
  value: number;
  /** beyond 1.5·IQR (mild) or 3·IQR (severe) */
  severity: "mild" | "severe";
}

/** Summary of one point's samples. */
export interface SampleSummary {
  /** the number of samples */
  count: number;
  /** the arithmetic mean */
  mean: number;
  /** standard error of the mean: stddev / √count */
  sem: number;
  /** the median */
  median: number;
  /** the smallest sample */
  min: number;
  /** the largest sample */
  max: number;
  /** sample standard deviation (n − 1) */
  stddev: number;
  /** 95 % confidence interval of the mean, Student t with count − 1 degrees of freedom */
  ci95: [number, number];
  /** coefficient of variation: stddev / mean */
  cv: number;
  /** Tukey outliers (labelled, kept) */
  outliers: Outlier[];
}

/** A least-squares fit of log(time) on log(n): time ∝ n^exponent. */
export interface ScalingFit {
  /** the fitted slope of log(time) on log(n) */
  exponent: number;
  /** 95 % confidence interval of the exponent (Student t, points − 2 degrees of freedom); NaN with 2 points */
  ci95: [number, number];
  /** the lengths the fit used */
  seqLens: number[];
}

/** Error for a sample that breaks the rules of a summary (fewer than 2 points, NaN). */
export class SampleError extends Error {
  override name = "SampleError";
}

/** Linear-interpolated quantile (type 7, as numpy's default) of sorted values. */
function quantileSorted(sorted: readonly number[], p: number): number {
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (position - below);
}

/** The median of values (any order, at least one). */
export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Summarise timed samples (at least 2, all finite).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const s = summarize([1, 2, 3, 4]);
 * assert(s.mean === 2.5 && s.median === 2.5);
 * ```
 */
export function summarize(samples: readonly number[]): SampleSummary {
  if (samples.length < 2) {
    throw new SampleError(`a summary needs ≥ 2 samples, got ${samples.length}`);
  }
  if (!samples.every(Number.isFinite)) throw new SampleError("samples must be finite numbers");
  const count = samples.length;
  const mean = samples.reduce((a, b) => a + b, 0) / count;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (count - 1);
  const stddev = Math.sqrt(variance);
  const sem = stddev / Math.sqrt(count);
  const halfWidth = tQuantile(0.975, count - 1) * sem;
  const sorted = [...samples].sort((a, b) => a - b);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  const outliers: Outlier[] = [];
  samples.forEach((value, index) => {
    const distance = value < q1 ? q1 - value : value > q3 ? value - q3 : 0;
    if (distance > 3 * iqr) outliers.push({ index, value, severity: "severe" });
    else if (distance > 1.5 * iqr) outliers.push({ index, value, severity: "mild" });
  });
  return {
    count,
    mean,
    sem,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[count - 1]!,
    stddev,
    ci95: [mean - halfWidth, mean + halfWidth],
    cv: stddev / mean,
    outliers,
  };
}

/**
 * Fit time ∝ n^exponent by least squares on log–log axes. Returns undefined with fewer than 2 points.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const fit = fitScaling([1000, 2000, 4000], [1, 4, 16]);
 * assert(Math.abs(fit!.exponent - 2) < 1e-12);
 * ```
 */
export function fitScaling(
  seqLens: readonly number[],
  times: readonly number[],
): ScalingFit | undefined {
  const count = seqLens.length;
  if (count < 2 || times.length !== count) return undefined;
  const xs = seqLens.map(Math.log);
  const ys = times.map(Math.log);
  const meanX = xs.reduce((a, b) => a + b, 0) / count;
  const meanY = ys.reduce((a, b) => a + b, 0) / count;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < count; i++) {
    sxx += (xs[i]! - meanX) ** 2;
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
  }
  const exponent = sxy / sxx;
  let ci95: [number, number] = [NaN, NaN];
  if (count > 2) {
    const intercept = meanY - exponent * meanX;
    const residual = xs.reduce((a, x, i) => a + (ys[i]! - intercept - exponent * x) ** 2, 0);
    const slopeStdErr = Math.sqrt(residual / (count - 2) / sxx);
    const halfWidth = tQuantile(0.975, count - 2) * slopeStdErr;
    ci95 = [exponent - halfWidth, exponent + halfWidth];
  }
  return { exponent, ci95, seqLens: [...seqLens] };
}

/** Slope between consecutive lengths: log(t₂/t₁) / log(n₂/n₁). */
export function localSlopes(
  seqLens: readonly number[],
  times: readonly number[],
): { fromSeqLen: number; toSeqLen: number; slope: number }[] {
  const slopes = [];
  for (let i = 1; i < seqLens.length; i++) {
    const fromSeqLen = seqLens[i - 1]!, toSeqLen = seqLens[i]!;
    slopes.push({
      fromSeqLen,
      toSeqLen,
      slope: Math.log(times[i]! / times[i - 1]!) / Math.log(toSeqLen / fromSeqLen),
    });
  }
  return slopes;
}
