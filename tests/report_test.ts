import assert from "node:assert/strict";
import { formatReport } from "../src/report.ts";
import type { ProfileResults } from "../src/results.ts";
import { finalizeSeries } from "../src/summaries.ts";

const fixture: ProfileResults = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/results_skipped.json", import.meta.url)),
);
fixture.series.forEach(finalizeSeries);

Deno.test("formatReport() interprets its own numbers", () => {
  const report = formatReport(fixture);
  // tables: one per series, with the stage breakdown of the GPU series
  for (const series of fixture.series) assert.ok(report.includes(`[${series.name}]`), series.name);
  assert.match(report, /gpu_fused: per-stage kernel time/);
  // the exponent of each series against the expected 2, with its interval
  assert.match(report, /cpu: time ∝ n\^\d\.\d\d \(95 % CI \d\.\d\d…\d\.\d\d\)/);
  // memory growth per series, the speedup at each n, the software adapter, validation, skips
  assert.match(report, /gpu_fused: peak memory .* grow as n\^/);
  assert.match(report, /gpu_fused speedup over cpu \(wall clock\): n=10: [\d.]+×/);
  assert.match(report, /software renderer on the same CPU cores/);
  assert.match(
    report,
    /Validation \(f32\): \d+ GPU outputs checked against the CPU path, 0 failed/,
  );
  assert.match(report, /gpu_naive n=10000 skipped: /);
  assert.ok(!report.includes("NaN"), "no NaN in the report");
});

Deno.test("formatReport() ranks a non-finite GPU output as the largest validation error", () => {
  const broken: ProfileResults = structuredClone(fixture);
  const point = broken.series[2]!.points[1]!;
  point.status = "failed";
  point.reason = "output does not match";
  point.validation = { ...point.validation!, relL2Error: NaN, maxAbsError: NaN, passed: false };
  const report = formatReport(broken);
  assert.match(report, /1 failed; largest relative L2 error NaN .* at gpu_fused n=100,/);
});

Deno.test("formatReport() flags stages above a calibrated ceiling and explains the share", () => {
  const results: ProfileResults = structuredClone(fixture);
  const calibratedAt = "2026-12-01T00:00:00.000Z";
  const calibration = (matmulGflops: number, copyGBps: number) => ({
    adapterKey: "test",
    gpu: {
      matmulGflops,
      matmulParameters: { workgroupSize: 8, template: {} },
      copyGBps,
      timing: "timestamp-query" as const,
    },
    cpu: { matmulGflopsOneThread: 1, threads: 1, matmulGflops: 1 },
    calibratedAt,
  });
  results.calibration = calibration(1e6, 1e6); // far above every stage
  const below = formatReport(results);
  assert.match(below, /gpu_fused: share of the calibrated ceilings/);
  assert.ok(!below.includes("↑"), "nothing above a ceiling");
  assert.doesNotMatch(below, /above the calibrated/);

  results.calibration = calibration(1e-3, 1e6); // below every stage's GFLOP/s
  const above = formatReport(results);
  assert.match(above, /\d+ % ↑/);
  assert.match(
    above,
    /\d+ stage times ran above the calibrated matmul ceiling of 0\.0 GFLOP\/s \(↑ in the tables; best: gpu_\w+ \w+ n=\d+ at [\d.]+ GFLOP\/s, \d+ %\)\. A ceiling is the best rate its measurement saw/,
  );
  assert.match(above, /`deno task calibrate` measures it again/);
  assert.doesNotMatch(above, /above the calibrated copy ceiling/);
});
