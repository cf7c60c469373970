import assert from "node:assert/strict";
import type { SeriesResult } from "../src/results.ts";
import { SeededRandom } from "../src/random.ts";
import { finalizeSeries } from "../src/summaries.ts";

/** runs of time = 1e-6·n² ms with ±5 % multiplicative noise */
function quadraticRuns(seqLen: number, random: SeededRandom): number[] {
  return Array.from({ length: 20 }, () => 1e-6 * seqLen ** 2 * (0.95 + 0.1 * random.next()));
}

Deno.test("finalizeSeries() fits the exponent over every run of the points with n ≥ 1000", () => {
  const random = new SeededRandom(3);
  const series: SeriesResult = {
    name: "cpu",
    device: "cpu",
    label: "CPU",
    localSlopes: [],
    points: [
      { seqLen: 10, status: "ok", wallMs: [5, 6, 5] }, // overhead-dominated: outside the fit
      { seqLen: 1000, status: "ok", wallMs: quadraticRuns(1000, random) },
      { seqLen: 2000, status: "skipped", reason: "too large", wallMs: [] },
      { seqLen: 4000, status: "ok", wallMs: quadraticRuns(4000, random) },
    ],
  };
  finalizeSeries(series);
  const fit = series.scaling!;
  assert.deepEqual(fit.seqLens, [1000, 4000]);
  assert.ok(Math.abs(fit.exponent - 2) < 0.05, `exponent ${fit.exponent}`);
  assert.ok(fit.ci95[0] < fit.exponent && fit.exponent < fit.ci95[1]);
  assert.ok(fit.ci95[1] - fit.ci95[0] < 0.1, `interval ${fit.ci95}`);
  assert.equal(series.points[2]!.wallMsSummary, undefined);
  assert.equal(series.points[1]!.wallMsSummary!.count, 20);
  assert.deepEqual(series.localSlopes.map((s) => [s.fromSeqLen, s.toSeqLen]), [[10, 1000], [
    1000,
    4000,
  ]]);
  assert.ok(series.localSlopes[0]!.slope < 1, "overhead flattens the slope at small n");
});

Deno.test("finalizeSeries() fits nothing with fewer than two lengths ≥ 1000, and summarises stages", () => {
  const series: SeriesResult = {
    name: "gpu_fused",
    device: "gpu",
    label: "GPU fused",
    stageNames: ["a", "b"],
    localSlopes: [],
    points: [{ seqLen: 1000, status: "ok", wallMs: [3, 4, 5], kernelMs: [[1, 2], [1, 3], [1, 4]] }],
  };
  finalizeSeries(series);
  assert.equal(series.scaling, undefined);
  assert.deepEqual(series.points[0]!.kernelMsSummary!.map((s) => s.mean), [1, 3]);
});
