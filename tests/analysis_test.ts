/**
 * The analysis across configurations: crossover interpolation on synthetic data, and the report's
 * and the JSON's comparisons on a multi-configuration fixture whose ratios are known by
 * construction (tests/multi_configuration_fixture.ts).
 */

import assert from "node:assert/strict";
import { analyseResults } from "../src/analysis/analysis.ts";
import { configurationLabel } from "../src/analysis/configurations.ts";
import {
  crossoverLength,
  referenceConfiguration,
  seriesCrossover,
} from "../src/analysis/crossover.ts";
import { expandGrid, SEED_GRID } from "../src/configuration.ts";
import { resultsToJson } from "../src/io/results_files.ts";
import { parseResults } from "../src/plot/load_results.ts";
import { formatReport } from "../src/report.ts";
import type { SeriesResult } from "../src/results.ts";
import { finalizeSeries } from "../src/summaries.ts";
import {
  BATCH3_TIME_FACTOR,
  CAUSAL_FACTORS,
  CONFIGURATIONS,
  GQA_MEMORY_FACTOR,
  GQA_PROJECTION_FACTOR,
  multiConfigurationResults,
  SLIDING_CROSSOVERS,
} from "./multi_configuration_fixture.ts";

Deno.test("crossoverLength() interpolates power laws exactly in log–log", () => {
  // candidate 0.01·n, reference n²/300000: equal where n = 3000, between the measured 1000, 10000
  const seqLens = [100, 1000, 10000];
  const at = crossoverLength(
    seqLens,
    seqLens.map((n) => 0.01 * n),
    seqLens.map((n) => n * n / 3e5),
  );
  assert.equal(at.outcome, "crossed");
  assert.ok(Math.abs(at.seqLen! - 3000) < 1e-9, `${at.seqLen}`);
  // equal at a measured length: the crossover is that length
  const exact = crossoverLength([10, 100], [5, 1], [5, 2]);
  assert.deepEqual(exact, { outcome: "crossed", seqLen: 10 });
});

Deno.test("crossoverLength() takes the crossing after which the candidate stays faster", () => {
  // faster at 10, slower at 100 (noise), faster from 1000 on: the crossing is in 100…1000
  const at = crossoverLength([10, 100, 1000, 10000], [1, 2, 1, 1], [2, 1, 2, 2]);
  assert.equal(at.outcome, "crossed");
  // log gaps +log 2 at 100 and −log 2 at 1000: the midpoint in log n
  assert.ok(Math.abs(at.seqLen! - Math.sqrt(100 * 1000)) < 1e-9, `${at.seqLen}`);
});

Deno.test("crossoverLength() says when the crossing is not within the measured lengths", () => {
  assert.deepEqual(crossoverLength([10, 100], [2, 3], [1, 2]), {
    outcome: "not-within",
    seqLen: null,
  });
  // faster at the first lengths but not at the last: not (yet) for good
  assert.equal(crossoverLength([10, 100, 1000], [1, 1, 3], [2, 2, 2]).outcome, "not-within");
  assert.deepEqual(crossoverLength([10, 100], [1, 1], [2, 2]), {
    outcome: "faster-throughout",
    seqLen: null,
  });
});

/** A series measured at `times` (ms per n), each point's runs the mean ± `spread`. */
function _series(name: string, times: Record<number, number>, spread: number): SeriesResult {
  const series: SeriesResult = {
    name,
    device: "gpu",
    variant: "fused",
    label: name,
    localSlopes: [],
    points: Object.entries(times).map(([n, ms]) => ({
      seqLen: Number(n),
      status: "ok",
      wallMs: [ms - spread, ms, ms + spread],
    })),
  };
  finalizeSeries(series);
  return series;
}

Deno.test("seriesCrossover() gives the interval the 95 % CIs allow around the mean crossing", () => {
  const candidate = _series("sliding", { 100: 4, 1000: 4 }, 0.1);
  const reference = _series("causal", { 100: 1, 1000: 10 }, 0.1);
  const crossover = seriesCrossover(candidate, reference)!;
  assert.equal(crossover.outcome, "crossed");
  // log(4/1) at 100, log(4/10) at 1000: the gap is zero at 10^(2 + log 4 / log 10) = 400
  assert.ok(Math.abs(crossover.seqLen! - 400) < 1e-9);
  const { low, high } = crossover.interval;
  assert.ok(low! < 400 && 400 < high!, `${low}…${high}`);
  // without noise the interval closes on the crossing
  const still = seriesCrossover(
    _series("sliding", { 100: 4, 1000: 4 }, 0),
    _series("causal", { 100: 1, 1000: 10 }, 0),
  )!;
  assert.ok(
    Math.abs(still.interval.low! - 400) < 1e-9 && Math.abs(still.interval.high! - 400) < 1e-9,
  );
  // noise that reaches past the last length leaves the interval open there
  const noisy = seriesCrossover(
    _series("sliding", { 100: 4, 1000: 9 }, 3),
    _series("causal", { 100: 1, 1000: 10 }, 3),
  )!;
  assert.equal(noisy.outcome, "crossed");
  assert.equal(noisy.interval.high, null);
});

Deno.test("formatReport() groups tables per configuration and compares configurations", async () => {
  const results = await multiConfigurationResults();
  const report = formatReport(results);
  for (const configuration of Object.values(CONFIGURATIONS)) {
    const heading = `Configuration: ${configurationLabel(configuration)} [${configuration.id}]`;
    assert.ok(report.includes(heading), heading);
  }
  assert.ok(report.includes("d_model 512 · 8 heads (kv 2) · batch 1 · full · forward"));
  const ratios = (value: number) =>
    results.config.seqLens.map((n) => `n=${n}: ${value.toFixed(2)}`).join(", ");
  for (const [implementation, factor] of Object.entries(CAUSAL_FACTORS)) {
    const line = `${implementation} causal ÷ full wall time (d_model 512 · 8 heads · batch 1 · ` +
      `forward): ${ratios(factor)}`;
    assert.ok(report.includes(line), line);
  }
  assert.ok(
    report.includes(
      `gpu_fused grouped-query kv 2 ÷ kv 8 (d_model 512 · 8 heads · batch 1 · full · forward): ` +
        `peak memory ${ratios(GQA_MEMORY_FACTOR)}; Q|K|V projection time ${
          ratios(GQA_PROJECTION_FACTOR)
        }.`,
    ),
  );
  const tokensRatio = `(${(3 / BATCH3_TIME_FACTOR).toFixed(2)}× B1)`;
  assert.match(report, /gpu_fused \(d_model 512 · 8 heads · full · forward\) tokens per second/);
  assert.equal(report.split(tokensRatio).length - 1, 3 * results.config.seqLens.length);
  const sliding = CONFIGURATIONS.sliding.id;
  assert.match(
    report,
    new RegExp(
      `Crossover: gpu_fused__${sliding} .* against gpu_fused__${CONFIGURATIONS.causal.id} ` +
        `\\(causal\\): faster from n ≈ ${SLIDING_CROSSOVERS.gpu_fused!.seqLen} `,
    ),
  );
  assert.match(report, new RegExp(`Crossover: cpu__${sliding} .* not faster within the measured`));
  assert.match(
    report,
    new RegExp(`Crossover: cpu__${CONFIGURATIONS.linear.id} .* faster at every measured length`),
  );
  // linear attention keeps no scores, on the CPU path too
  assert.match(
    report,
    new RegExp(
      `cpu__${CONFIGURATIONS.linear.id}: peak memory .* expected O\\(n\\): per-chunk states`,
    ),
  );
  assert.ok(!report.includes("NaN"), "no NaN in the report");
});

Deno.test("the JSON of several configurations carries the analysis, and reads back", async () => {
  const results = await multiConfigurationResults();
  const json = resultsToJson(results);
  const parsed = JSON.parse(json);
  assert.deepEqual(
    parsed.analysis.configurations.map((c: { id: string }) => c.id),
    Object.values(CONFIGURATIONS).map((c) => c.id),
  );
  const fused = parsed.analysis.crossovers.find((c: { series: string }) =>
    c.series === `gpu_fused__${CONFIGURATIONS.sliding.id}`
  );
  assert.ok(Math.abs(fused.seqLen - SLIDING_CROSSOVERS.gpu_fused!.seqLen) < 1e-6);
  assert.equal(fused.reference, `gpu_fused__${CONFIGURATIONS.causal.id}`);
  const reread = parseResults(json, "multi.json");
  assert.deepEqual(analyseResults(reread).crossovers, analyseResults(results).crossovers);
  // a single configuration keeps the file as it was
  const single = { ...results, configurations: [CONFIGURATIONS.full] };
  assert.equal(JSON.parse(resultsToJson(single)).analysis, undefined);
});

Deno.test("parseResults() checks a version-2 file's configurations", async () => {
  const results = await multiConfigurationResults();
  const unknown = structuredClone(results);
  unknown.series[0]!.configurationId = "b9_nothing";
  assert.throws(
    () => parseResults(resultsToJson(unknown), "x.json"),
    /series\[0\]\.configurationId is "b9_nothing", not a configuration/,
  );
  const broken = JSON.parse(resultsToJson(results));
  broken.configurations[1].kvHeads = "two";
  assert.throws(
    () => parseResults(JSON.stringify(broken), "x.json"),
    /configurations\[1\]\.kvHeads is "two", not a number/,
  );
});

Deno.test("referenceConfiguration(): a sliding series against causal, or full when the grid has no causal mask", () => {
  const grid = (mask: string[]) =>
    expandGrid({ ...SEED_GRID, mask, attention: ["softmax", "linear"] }).configurations;
  const sliding = (configurations: ReturnType<typeof grid>) =>
    configurations.find((c) => c.mask === "sliding:256")!;
  const withCausal = grid(["full", "causal", "sliding:256"]);
  assert.equal(referenceConfiguration(sliding(withCausal), withCausal)?.mask, "causal");
  const withoutCausal = grid(["full", "sliding:256"]);
  assert.equal(referenceConfiguration(sliding(withoutCausal), withoutCausal)?.mask, "full");
  const linear = withoutCausal.find((c) => c.attention === "linear")!;
  assert.equal(referenceConfiguration(linear, withoutCausal)?.mask, "full");
});
