/**
 * `deno task compare`: the bootstrap interval, verdicts, the point lists, the differences between
 * files, schema versions 1 and 2, and the CLI's exit codes and output formats.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  bootstrapGroupedMedianRatio,
  bootstrapMedianRatio,
  DEFAULT_BOOTSTRAP,
} from "../src/compare/bootstrap.ts";
import { compareResults, verdictOf } from "../src/compare/compare.ts";
import { comparisonBlocks } from "../src/compare/format.ts";
import type { TableBlock } from "../src/report/document.ts";
import { SeededRandom } from "../src/random.ts";
import type { ProfileResults } from "../src/results.ts";
import { expandGrid, SEED_GRID } from "../src/configuration.ts";

const COMPARE = fileURLToPath(new URL("../src/cli/compare.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/results_full.json", import.meta.url));
const fixture: ProfileResults = JSON.parse(await Deno.readTextFile(FIXTURE));
const OPTIONS = { threshold: 0.05, bootstrap: DEFAULT_BOOTSTRAP };

/** A copy whose samples are re-drawn within ±`spread` and scaled per series by `factor`. */
function rerun(
  results: ProfileResults,
  seed: number,
  spread: number,
  factor: (series: string) => number = () => 1,
): ProfileResults {
  const copy: ProfileResults = structuredClone(results);
  const random = new SeededRandom(seed);
  const jitter = (ms: number, scale: number) => ms * scale * (1 + spread * (2 * random.next() - 1));
  for (const series of copy.series) {
    const scale = factor(series.name);
    for (const point of series.points) {
      point.wallMs = point.wallMs.map((ms) => jitter(ms, scale));
      point.kernelMs = point.kernelMs?.map((run) => run.map((ms) => jitter(ms, scale)));
      point.kernelSumMs = point.kernelMs?.map((run) => run.reduce((a, b) => a + b, 0));
    }
  }
  return copy;
}

Deno.test("bootstrapMedianRatio() is seeded and its interval holds 1 only for equal sets", () => {
  const base = [10, 10.4, 9.8, 10.1, 10.2];
  const same = bootstrapMedianRatio(base, [10.1, 9.9, 10.3, 10, 10.2], DEFAULT_BOOTSTRAP);
  assert.ok(same.ci[0] <= 1 && 1 <= same.ci[1], `${same.ci}`);
  const slower = bootstrapMedianRatio(base, base.map((ms) => 1.5 * ms), DEFAULT_BOOTSTRAP);
  assert.ok(Math.abs(slower.ratio - 1.5) < 1e-12);
  assert.ok(slower.ci[0] > 1.3 && slower.ci[1] < 1.7, `${slower.ci}`);
  const random = new SeededRandom(3);
  const noisy = Array.from({ length: 20 }, () => 10 + random.next());
  const noisier = noisy.map((ms) => ms + random.next());
  const again = () => bootstrapMedianRatio(noisy, noisier, DEFAULT_BOOTSTRAP).ci;
  assert.deepEqual(again(), again());
  const otherSeed = bootstrapMedianRatio(noisy, noisier, { ...DEFAULT_BOOTSTRAP, seed: 2 });
  assert.notDeepEqual(otherSeed.ci, again());
});

Deno.test("verdictOf(): an interval holding 1 or a change under the threshold is noise", () => {
  assert.equal(verdictOf(1.2, [0.9, 1.4], 0.05), "within noise");
  assert.equal(verdictOf(1.03, [1.01, 1.05], 0.05), "within noise");
  assert.equal(verdictOf(1.2, [1.1, 1.3], 0.05), "slower");
  assert.equal(verdictOf(0.8, [0.7, 0.9], 0.05), "faster");
});

Deno.test("the grouped bootstrap: one profile a side is the plain one; profiles' levels widen it", () => {
  const random = new SeededRandom(3);
  // ten runs within ±2 % of a process's level
  const profile = (level: number) =>
    Array.from({ length: 10 }, () => level * (1 + 0.02 * (2 * random.next() - 1)));
  const [a, b] = [profile(1), profile(1.01)];
  assert.deepEqual(
    bootstrapGroupedMedianRatio([a], [b], DEFAULT_BOOTSTRAP),
    bootstrapMedianRatio(a, b, DEFAULT_BOOTSTRAP),
  );
  // the same setup, whose processes land in a 15 % slower state half the time
  const base = [1, 1.15, 1, 1.15].map(profile), next = [1.15, 1, 1.15, 1].map(profile);
  const grouped = bootstrapGroupedMedianRatio(base, next, DEFAULT_BOOTSTRAP);
  assert.ok(grouped.ci[0] <= 1 && 1 <= grouped.ci[1], `profiles, then runs: ${grouped.ci}`);
  // states that fell unevenly: the profiles' spread widens what the runs alone would claim
  const uneven = [1, 1.15, 1, 1].map(profile);
  const runsAlone = bootstrapMedianRatio(uneven.flat(), next.flat(), DEFAULT_BOOTSTRAP);
  const profiles = bootstrapGroupedMedianRatio(uneven, next, DEFAULT_BOOTSTRAP);
  assert.equal(profiles.ratio, runsAlone.ratio);
  const width = (ci: [number, number]) => ci[1] - ci[0];
  assert.ok(width(profiles.ci) > 1.3 * width(runsAlone.ci), `${profiles.ci} vs ${runsAlone.ci}`);
  // a real slowdown of every process stays outside
  const steady = [1, 1, 1, 1].map(profile), slowed = [1, 1, 1, 1].map(() => profile(1.15));
  const slower = bootstrapGroupedMedianRatio(steady, slowed, DEFAULT_BOOTSTRAP);
  assert.ok(slower.ci[0] > 1.1, `${slower.ci}`);
  assert.throws(() => bootstrapGroupedMedianRatio([a, []], [b], DEFAULT_BOOTSTRAP), RangeError);
});

Deno.test("compareResults(): a re-run is within noise everywhere, a slowed series is slower", () => {
  const base = rerun(fixture, 1, 0.02);
  const same = compareResults(base, rerun(fixture, 2, 0.02), OPTIONS);
  // the wall clock of 12 points, and the kernel-time sum of the 8 GPU points
  assert.equal(same.points.filter((p) => p.metric === "wallMs").length, 12);
  assert.equal(same.points.filter((p) => p.metric === "kernelSumMs").length, 8);
  assert.deepEqual(new Set(same.points.map((p) => p.verdict)), new Set(["within noise"]));
  assert.deepEqual(same.differences, []);
  const notes = (c: typeof same) =>
    (comparisonBlocks(c, { base: "a", next: "b" }).at(-1) as { items: string[] }).items.join("\n");
  assert.doesNotMatch(notes(same), /drifted/);
  // every series 20 % slower, none changed by itself: a drift of the machine
  const drifted = compareResults(base, rerun(fixture, 2, 0.02, () => 1.2), OPTIONS);
  assert.match(notes(drifted), /Every point is slower in NEW, .* the machine may have drifted/);

  const slowed = compareResults(base, rerun(fixture, 2, 0.02, (s) => s === "gpu_fused" ? 1.3 : 1), {
    ...OPTIONS,
  });
  for (const point of slowed.points) {
    const expected = point.series === "gpu_fused" ? "slower" : "within noise";
    assert.equal(point.verdict, expected, `${point.series} n=${point.seqLen}`);
  }
});

Deno.test("compareResults() recomputes from the raw samples, not the stored summaries", () => {
  const next: ProfileResults = structuredClone(fixture);
  for (const point of next.series[0]!.points) {
    point.wallMsSummary = { ...point.wallMsSummary!, median: 1e9, mean: 1e9 };
  }
  const comparison = compareResults(fixture, next, OPTIONS);
  assert.ok(comparison.points.every((p) => p.ratio === 1));
});

Deno.test("compareResults() compares the GPU kernel-time sum, labelled, beside the wall clock", () => {
  const withKernels = structuredClone(fixture);
  for (const series of withKernels.series.filter((s) => s.device === "gpu")) {
    for (const point of series.points) point.kernelMs = point.wallMs.map((ms) => [ms / 2, ms / 4]);
  }
  const comparison = compareResults(rerun(withKernels, 1, 0), rerun(withKernels, 2, 0.01), OPTIONS);
  const kernel = comparison.points.filter((p) => p.metric === "kernelSumMs");
  assert.equal(kernel.length, 8);
  assert.ok(kernel.every((p) => p.series.startsWith("gpu_") && p.metricLabel === "kernel sum"));
});

Deno.test("compareResults() lists points in one file only and points it could not time", () => {
  const next: ProfileResults = structuredClone(fixture);
  next.series[1]!.points.pop(); // gpu_naive n=10000
  next.series[2]!.points[0] = {
    ...next.series[2]!.points[0]!,
    status: "skipped",
    reason: "too large",
    wallMs: [],
  };
  next.series[0]!.points.push({ ...next.series[0]!.points[0]!, seqLen: 20000 });
  const comparison = compareResults(fixture, next, OPTIONS);
  assert.deepEqual(comparison.onlyInBase, [{ series: "gpu_naive", seqLen: 10000 }]);
  assert.deepEqual(comparison.onlyInNew, [{ series: "cpu", seqLen: 20000 }]);
  assert.deepEqual(comparison.notCompared.map((n) => n.reason), ["skipped in NEW: too large"]);
  assert.equal(comparison.points.filter((p) => p.metric === "wallMs").length, 10);
});

Deno.test("compareResults() names configuration, adapter, runtime and tuning differences", () => {
  const next: ProfileResults = structuredClone(fixture);
  next.config.runs = 5;
  next.config.outDir = "elsewhere"; // where files go is not a difference
  next.environment.deno = "9.9.9";
  next.environment.adapter = { ...next.environment.adapter!, description: "llvmpipe" };
  next.tunedKernelParameters = { projection: { workgroupSize: 8, template: { ROWS: 4 } } };
  const differences = compareResults(fixture, next, OPTIONS).differences;
  assert.deepEqual(differences, [
    "config.runs: 20 → 5",
    "Deno version: 2.9.6 → 9.9.9",
    "GPU adapter: NVIDIA H200, hardware, backend vulkan → llvmpipe, hardware, backend vulkan",
    'tuning of projection: absent → {"template":{"ROWS":4},"workgroupSize":8}',
  ]);
});

Deno.test("compareResults() keys schemaVersion 2 points by configuration too", () => {
  const v2 = (ids: string[]) => {
    const results = structuredClone(fixture) as ProfileResults & Record<string, unknown>;
    (results as Record<string, unknown>).schemaVersion = 2;
    results.configurations = ids.map((id) => ({
      ...expandGrid(SEED_GRID).configurations[0]!,
      id,
      mask: id,
    }));
    results.series = ids.flatMap((id) =>
      fixture.series.map((series) => ({ ...structuredClone(series), configurationId: id }))
    );
    return results as ProfileResults;
  };
  const comparison = compareResults(v2(["full", "causal"]), v2(["full"]), OPTIONS);
  assert.equal(comparison.points.filter((p) => p.metric === "wallMs").length, 12);
  assert.ok(comparison.points.every((p) => p.configurationId === "full"));
  assert.equal(comparison.onlyInBase.length, 12);
  assert.ok(comparison.onlyInBase.every((key) => key.configurationId === "causal"));
  const both = compareResults(v2(["full", "causal"]), v2(["full", "causal"]), OPTIONS);
  const header = (c: typeof both) =>
    (comparisonBlocks(c, { base: "a", next: "b" }).find((b) => b.kind === "table") as TableBlock)
      .header;
  // the same series name in two configurations: the table names the configuration
  assert.ok(header(both).includes("configuration"));
  assert.ok(!header(compareResults(fixture, fixture, OPTIONS)).includes("configuration"));
  assert.equal(comparison.differences.length, 1);
  assert.match(
    comparison.differences[0]!,
    /^configuration causal: \{.*"mask":"causal".*\} → absent$/,
  );
});

async function compareCli(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "--allow-read", "--allow-env", COMPARE, ...args],
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("compare CLI: table, Markdown, --fail-on-slower and folders", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compare_cli_" });
  try {
    await Deno.mkdir(`${dir}/base`);
    await Deno.writeTextFile(
      `${dir}/base/profiling_results.json`,
      JSON.stringify(rerun(fixture, 1, 0.02)),
    );
    await Deno.writeTextFile(
      `${dir}/slow.json`,
      JSON.stringify(rerun(fixture, 2, 0.02, (s) => s === "cpu" ? 1.5 : 1)),
    );
    const table = await compareCli(`${dir}/base`, `${dir}/slow.json`);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /cpu\s+10000\s+wall\s+.*1\.5\d\d×.*\+5\d\.\d %\s+slower/);
    assert.match(table.stdout, /gpu_fused\s+10\s+wall\s+.*within noise/);

    const markdown = await compareCli(`${dir}/base`, `${dir}/slow.json`, "--markdown");
    const lines = markdown.stdout.split("\n");
    const rows = lines.filter((line) => line.includes(" | within noise |"));
    assert.equal(rows.length, 16); // GPU wall and kernel sum
    assert.ok(rows.every((row) => row.startsWith("| gpu_") && row.endsWith(" |")));
    assert.ok(lines.includes("| --- | --: | --: | --: | --: | --: | --: | --: | --: |"));

    const failing = await compareCli(`${dir}/base`, `${dir}/slow.json`, "--fail-on-slower", "20");
    assert.equal(failing.code, 1);
    assert.match(
      failing.stderr,
      /slower by more than 20\.0 %: cpu n=10 wall ×1\.\d+, cpu n=100 wall/,
    );
    const tolerated = await compareCli(`${dir}/base`, `${dir}/slow.json`, "--fail-on-slower=60");
    assert.equal(tolerated.code, 0, tolerated.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare CLI: folders of repeated profiles are pooled, their differences listed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compare_repeated_" });
  try {
    const write = async (path: string, results: ProfileResults) => {
      await Deno.mkdir(path, { recursive: true });
      await Deno.writeTextFile(`${path}/profiling_results.json`, JSON.stringify(results));
    };
    await write(`${dir}/base/1`, rerun(fixture, 1, 0.02));
    await write(`${dir}/base/2`, rerun(fixture, 2, 0.02));
    await write(`${dir}/new/a`, rerun(fixture, 3, 0.02));
    const other = rerun(fixture, 4, 0.02, (s) => s === "cpu" ? 1.5 : 1);
    other.config = { ...other.config, runs: 3 };
    await write(`${dir}/new/b`, other);
    const result = await compareCli(`${dir}/base`, `${dir}/new`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Repeated profiles pooled: BASE 2, NEW 2/);
    const runs = fixture.series.find((s) => s.name === "cpu")!.points[0]!.wallMs.length;
    assert.match(result.stdout, new RegExp(`cpu\\s+10\\s+wall\\s+\\S+ \\(${2 * runs} in 2\\)`));
    assert.match(result.stdout, /NEW profile 2 against its first: config\.runs: \d+ → 3/);

    await Deno.writeTextFile(`${dir}/new/b/profiling_results.json`, "{");
    const bad = await compareCli(`${dir}/base`, `${dir}/new`);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: NEW ".*new" \(.*b.profiling_results\.json\): not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare CLI: a bad file or flag exits 2 with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "compare_bad_" });
  try {
    await Deno.writeTextFile(`${dir}/cut.json`, (await Deno.readTextFile(FIXTURE)).slice(0, 500));
    const cases: [string[], RegExp][] = [
      [[FIXTURE, `${dir}/missing.json`], /NEW ".*missing\.json": no such file/],
      [[`${dir}/cut.json`, FIXTURE], /BASE ".*cut\.json": not valid JSON/],
      [[dir, FIXTURE], /BASE .*: no such file/],
      [[FIXTURE], /expected two results files, BASE and NEW, got 1/],
      [[FIXTURE, FIXTURE, "--threshold", "x"], /--threshold "x": expected a percentage/],
      [[FIXTURE, FIXTURE, "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const result = await compareCli(...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.stdout, "");
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert.match(result.stderr, message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
