/**
 * Figures of several configurations: one row of panels per configuration, each configuration's own
 * 2×2, crossovers marked on the time panel, kernel blocks headed by their configuration,
 * `plot --from` on a version-2 file, and a recorded run of two configurations.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { configurationLabel } from "../src/analysis/configurations.ts";
import { resultsToJson } from "../src/io/results_files.ts";
import {
  configurationFigureName,
  restrictToConfiguration,
} from "../src/plot/configuration_figures.ts";
import { FIGURE_FILE_NAMES, renderFigureSvgs } from "../src/plot/figures.ts";
import { loadResults } from "../src/plot/load_results.ts";
import { formatReport } from "../src/report.ts";
import type { ProfileResults } from "../src/results.ts";
import { CONFIGURATIONS, multiConfigurationResults } from "./multi_configuration_fixture.ts";

function _count(text: string, fragment: string): number {
  return text.split(fragment).length - 1;
}

Deno.test("the profiling figure of several configurations has one panel group per configuration", async () => {
  const results = await multiConfigurationResults();
  const { profilingSvg, perConfiguration } = await renderFigureSvgs(results);
  const configurations = Object.values(CONFIGURATIONS);
  assert.equal(_count(profilingSvg, 'aria-label="configuration '), configurations.length);
  for (const configuration of configurations) {
    assert.ok(profilingSvg.includes(`aria-label="configuration ${configuration.id}"`));
    assert.ok(profilingSvg.includes(configurationLabel(configuration)), configuration.id);
  }
  // each row: a time and a memory panel
  assert.equal(
    _count(profilingSvg, `aria-label="Wall Clock Time vs Sequence Length"`),
    configurations.length,
  );
  assert.equal(
    _count(profilingSvg, `aria-label="Memory Usage vs Sequence Length"`),
    configurations.length,
  );
  // and each configuration its own 2×2
  assert.deepEqual(
    perConfiguration.map((figure) => figure.name),
    configurations.map(configurationFigureName),
  );
  for (const { svg } of perConfiguration) {
    assert.equal(_count(svg, `aria-label="Theoretical FLOPs vs Sequence Length"`), 1);
  }
});

Deno.test("the time panel marks a crossover with its reference series", async () => {
  const results = await multiConfigurationResults();
  const { perConfiguration } = await renderFigureSvgs(results);
  const figureOf = (id: string) => perConfiguration.find((figure) => figure.name.endsWith(id))!.svg;
  const sliding = figureOf(CONFIGURATIONS.sliding.id);
  assert.ok(sliding.includes("n≈300"), "the crossing is labelled on the panel");
  assert.ok(sliding.includes("GPU fused, causal"), "the reference line is labelled");
  assert.match(
    sliding,
    /Crossover: GPU fused \(sliding:256\) against GPU fused, causal \(grey dashed\): faster from n ≈ 300 \(95 % noise interval \d+–\d+\)/,
  );
  assert.match(sliding, /Crossover: GPU naive \(sliding:256\) .*: not faster up to n = 10,000/);
  const full = figureOf(CONFIGURATIONS.full.id);
  assert.ok(!full.includes("n≈") && !full.includes("Crossover:"), "no crossover without one");
});

Deno.test("the kernel breakdown heads each GPU block with its configuration", async () => {
  const { kernelBreakdownSvg } = await renderFigureSvgs(await multiConfigurationResults());
  for (const configuration of [CONFIGURATIONS.full, CONFIGURATIONS.gqa, CONFIGURATIONS.sliding]) {
    // a naive and a fused block per configuration
    assert.equal(_count(kernelBreakdownSvg, ` · ${configurationLabel(configuration)}`), 2);
  }
});

/** The fixture cut to two configurations: full and sliding (few PNGs to rasterise). */
async function _twoConfigurations(): Promise<ProfileResults> {
  const results = await multiConfigurationResults();
  const kept = [CONFIGURATIONS.causal, CONFIGURATIONS.sliding];
  const parts = kept.map((c) => restrictToConfiguration(results, c));
  return {
    ...results,
    configurations: kept,
    series: parts.flatMap((part) => part.series),
    flops: parts.flatMap((part) => part.flops),
  };
}

Deno.test("plot CLI: renders a version-2 file of several configurations", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const results = await _twoConfigurations();
    await Deno.writeTextFile(join(dir, "profiling_results.json"), resultsToJson(results));
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "src/cli/plot.ts", "--from", join(dir, "profiling_results.json")],
      cwd: join(import.meta.dirname!, ".."),
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stderr } = await command.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const expected = [
      ...Object.values(FIGURE_FILE_NAMES),
      ...results.configurations!.flatMap((c) => [
        `${configurationFigureName(c)}.png`,
        `${configurationFigureName(c)}.svg`,
      ]),
    ];
    for (const name of expected) {
      assert.ok((await Deno.stat(join(dir, name))).size > 0, name);
    }
    const main = await Deno.readTextFile(join(dir, FIGURE_FILE_NAMES.profilingSvg));
    assert.equal(_count(main, 'aria-label="configuration '), 2);
    assert.ok(main.includes("n≈300"), "the crossover is marked on the sliding row");
    const markdown = await Deno.readTextFile(join(dir, "report.md"));
    for (const c of results.configurations!) {
      assert.ok(markdown.includes(`${configurationFigureName(c)}.png`), "report.md links it");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a recorded run of two configurations reads back, renders a row each and reports causal ÷ full", async () => {
  // `deno task profile --devices cpu --seq-lens 10,100 --runs 2 --mask full,causal`
  const results = await loadResults(
    join(import.meta.dirname!, "fixtures", "results_configurations_cpu.json"),
  );
  assert.equal(results.schemaVersion, 2);
  const { profilingSvg } = await renderFigureSvgs(results);
  assert.equal(_count(profilingSvg, 'aria-label="configuration '), 2);
  const [full, causal] = ["full", "causal"].map((mask) =>
    results.series.find((s) =>
      results.configurations!.find((c) => c.id === s.configurationId)!.mask === mask
    )!
  );
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const ratios = results.config.seqLens.map((n) => {
    const at = (series: typeof full) => mean(series!.points.find((p) => p.seqLen === n)!.wallMs);
    return `n=${n}: ${(at(causal) / at(full)).toFixed(2)}`;
  });
  const report = formatReport(results);
  assert.ok(
    report.includes(
      `cpu causal ÷ full wall time (d_model 512 · 8 heads · batch 1 · forward): ${
        ratios.join(", ")
      }`,
    ),
    ratios.join(", "),
  );
});
