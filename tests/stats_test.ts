import assert from "node:assert/strict";
import { fitScaling, localSlopes, SampleError, summarize } from "../src/stats.ts";

function assertClose(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

Deno.test("summarize() matches hand-computed statistics", () => {
  // samples 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, variance 32/7
  const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.count, 8);
  assertClose(s.mean, 5);
  assertClose(s.stddev, Math.sqrt(32 / 7));
  assertClose(s.sem, Math.sqrt(32 / 7) / Math.sqrt(8));
  assertClose(s.median, 4.5);
  assert.equal(s.min, 2);
  assert.equal(s.max, 9);
  assertClose(s.cv, Math.sqrt(32 / 7) / 5);
  // t(0.975, 7) = 2.364624251592785
  const halfWidth = 2.364624251592785 * s.sem;
  assertClose(s.ci95[0], 5 - halfWidth, 1e-9);
  assertClose(s.ci95[1], 5 + halfWidth, 1e-9);
  // Q1 = 4, Q3 = 5.5 (numpy type 7), IQR 1.5: 9 lies beyond 5.5 + 1.5·1.5
  assert.deepEqual(s.outliers, [{ index: 7, value: 9, severity: "mild" }]);
});

Deno.test("summarize() labels Tukey outliers without removing them", () => {
  // Q1 = 10, Q3 = 10.2 (numpy type 7), IQR 0.2: fences 10.5 (mild) and 10.8 (severe)
  const samples = [10, 10.6, 10, 10, 10.2, 10, 10, 100, 10];
  const s = summarize(samples);
  assert.equal(s.count, samples.length);
  assert.equal(s.max, 100);
  assert.deepEqual(s.outliers, [
    { index: 1, value: 10.6, severity: "mild" },
    { index: 7, value: 100, severity: "severe" },
  ]);
});

Deno.test("summarize() refuses fewer than two samples and NaN", () => {
  assert.throws(() => summarize([1]), SampleError);
  assert.throws(() => summarize([1, NaN]), SampleError);
});

Deno.test("fitScaling() recovers an exact power law and its interval collapses", () => {
  const seqLens = [1000, 2000, 4000, 8000];
  const fit = fitScaling(seqLens, seqLens.map((n) => 3e-6 * n ** 2))!;
  assertClose(fit.exponent, 2, 1e-12);
  assertClose(fit.ci95[0], 2, 1e-6);
  assertClose(fit.ci95[1], 2, 1e-6);
});

Deno.test("fitScaling() gives the hand-computed slope and interval of noisy points", () => {
  // log-log points (0, 0), (1, 1), (2, 3) with x = ln n: slope 1.5, residuals ±1/6, 1/3
  const seqLens = [1, Math.E, Math.E ** 2];
  const fit = fitScaling(seqLens, [1, Math.E, Math.E ** 3])!;
  assertClose(fit.exponent, 1.5, 1e-12);
  // residual SS = 1/6, s² = 1/6, Sxx = 2, slope SE = sqrt(1/12), t(0.975, 1) = 12.706204736174694
  const halfWidth = 12.706204736174694 * Math.sqrt(1 / 12);
  assertClose(fit.ci95[0], 1.5 - halfWidth, 1e-9);
  assertClose(fit.ci95[1], 1.5 + halfWidth, 1e-9);
  assert.equal(fitScaling([1000], [1]), undefined);
});

Deno.test("localSlopes() gives the slope between consecutive lengths", () => {
  const slopes = localSlopes([10, 100, 1000], [1, 1, 100]);
  assert.deepEqual(slopes.map((s) => [s.fromSeqLen, s.toSeqLen]), [[10, 100], [100, 1000]]);
  assertClose(slopes[0]!.slope, 0);
  assertClose(slopes[1]!.slope, 2);
});
