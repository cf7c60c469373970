/**
 * Figures: SVG snapshots of fixed fixture results (deterministic bytes; a `-changed.svg` written
 * beside a snapshot that no longer matches; missing snapshots written only outside CI), PNG
 * validity and size, content of the figures, and the `plot` command's handling of bad input.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryTicks, decadeTicks, formatBytes, formatMs, seqLenTicks } from "../src/plot/axes.ts";
import {
  FIGURE_FILE_NAMES,
  renderFigures,
  renderFigureSvgs,
  writeFigures,
} from "../src/plot/figures.ts";
import { loadFigureFonts } from "../src/plot/fonts.ts";
import { loadResults, parseResults, ResultsFileError } from "../src/plot/load_results.ts";
import { normalizePlotIds } from "../src/plot/svg_document.ts";
import type { ProfileResults } from "../src/results.ts";

const TESTS_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = dirname(TESTS_DIR);
const FIXTURES_DIR = join(TESTS_DIR, "fixtures");
const SNAPSHOTS_DIR = join(TESTS_DIR, "snapshots");

const FIXTURES = [
  "results_full",
  "results_skipped",
  "results_single_length",
  "results_cpu_only",
] as const;

const PANEL_TITLES = [
  "Wall Clock Time vs Sequence Length",
  "Memory Usage vs Sequence Length",
  "Theoretical FLOPs vs Sequence Length",
  "Time vs Computational Complexity",
];

function fixture(name: (typeof FIXTURES)[number]): Promise<ProfileResults> {
  return loadResults(join(FIXTURES_DIR, `${name}.json`));
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Compare `actual` with `tests/snapshots/<name>.svg`. On a mismatch `<name>-changed.svg` is
 * written beside it and the test fails; a missing snapshot is written, except in CI where it fails.
 */
async function assertSnapshot(name: string, actual: string): Promise<void> {
  const path = join(SNAPSHOTS_DIR, `${name}.svg`);
  const changedPath = join(SNAPSHOTS_DIR, `${name}-changed.svg`);
  const expected = await readTextOrNull(path);
  if (expected === null) {
    if (Deno.env.get("CI")) {
      throw new Error(`snapshot ${path} is missing (snapshots are never written in CI)`);
    }
    await Deno.mkdir(SNAPSHOTS_DIR, { recursive: true });
    await Deno.writeTextFile(path, actual);
    console.warn(`wrote missing snapshot ${path}`);
    return;
  }
  if (expected === actual) {
    await Deno.remove(changedPath).catch(() => {});
    return;
  }
  await Deno.writeTextFile(changedPath, actual);
  throw new Error(`${name}.svg differs from its snapshot: see ${changedPath}`);
}

/** Width and height of a PNG from its IHDR chunk, after checking the signature. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, "PNG signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(12, 16)), "IHDR", "first chunk is IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Width and height attributes of the root `<svg>`. */
function svgSize(svg: string): { width: number; height: number } {
  const match = /<svg [^>]*?width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  assert.ok(match, "root <svg> has width and height");
  return { width: Number(match[1]), height: Number(match[2]) };
}

for (const name of FIXTURES) {
  Deno.test(`renderFigureSvgs() matches the snapshots of ${name}`, async () => {
    const { profilingSvg, kernelBreakdownSvg } = await renderFigureSvgs(await fixture(name));
    await assertSnapshot(`${name}_profiling`, profilingSvg);
    await assertSnapshot(`${name}_kernel_breakdown`, kernelBreakdownSvg);
  });
}

Deno.test("renderFigureSvgs() gives the same bytes for the same results", async () => {
  const results = await fixture("results_skipped");
  const first = await renderFigureSvgs(results);
  await renderFigureSvgs(await fixture("results_full")); // Plot's counters move on in between
  const second = await renderFigureSvgs(structuredClone(results));
  assert.equal(second.profilingSvg, first.profilingSvg);
  assert.equal(second.kernelBreakdownSvg, first.kernelBreakdownSvg);
});

Deno.test("normalizePlotIds() numbers Plot's ids by first appearance", () => {
  const svg =
    '<clipPath id="plot-clip-7"/><g clip-path="url(#plot-clip-7)"/><path id="plot-clip-3"/>';
  assert.equal(
    normalizePlotIds(svg),
    '<clipPath id="figure-clip-1"/><g clip-path="url(#figure-clip-1)"/><path id="figure-clip-2"/>',
  );
});

Deno.test("renderFigures() returns PNGs at twice the SVG size", async () => {
  const figures = await renderFigures(await fixture("results_full"));
  for (
    const [svg, png] of [
      [figures.profilingSvg, figures.profilingPng],
      [figures.kernelBreakdownSvg, figures.kernelBreakdownPng],
    ] as const
  ) {
    const { width, height } = svgSize(svg);
    assert.deepEqual(pngSize(png), { width: 2 * width, height: 2 * Math.ceil(height) });
  }
});

Deno.test("the profiling figure has the four panel titles, every series label and the adapter", async () => {
  const results = await fixture("results_skipped");
  const { profilingSvg } = await renderFigureSvgs(results);
  for (const title of PANEL_TITLES) assert.ok(profilingSvg.includes(title), title);
  for (const series of results.series) {
    assert.ok(profilingSvg.includes(series.label), `legend shows ${series.label}`);
  }
  assert.ok(profilingSvg.includes(results.environment.cpuModel));
  assert.ok(profilingSvg.includes("(software adapter: GPU numbers are CPU emulation)"));
  assert.ok(/GPU naive ∝ n\^|CPU ∝ n\^1\.\d\d/.test(profilingSvg), "fitted exponents shown");
});

Deno.test("a skipped point is not drawn but named, and the rest renders", async () => {
  const results = await fixture("results_skipped");
  const naive = results.series.find((series) => series.name === "gpu_naive")!;
  assert.equal(naive.points.find((point) => point.seqLen === 10000)!.status, "skipped");
  const { profilingSvg, kernelBreakdownSvg } = await renderFigureSvgs(results);
  assert.ok(!profilingSvg.includes("NaN"), "no NaN coordinates");
  assert.ok(!kernelBreakdownSvg.includes("NaN"), "no NaN coordinates");
  assert.ok(profilingSvg.includes("Not drawn (no measurement): GPU naive n = 10,000 skipped"));
  assert.ok(kernelBreakdownSvg.includes("skipped: scores buffer needs"));
  // one less measured GPU-naive marker (squares) than in the full run, in each of panels 1, 2, 4
  const squares = (svg: string) =>
    (svg.match(/<path [^>]*d="M-3\.1,-3\.1h6\.2v6\.2h-6\.2Z"/g) ?? []).length;
  const full = await renderFigureSvgs(await fixture("results_full"));
  assert.equal(squares(full.profilingSvg) - squares(profilingSvg), 3);
});

Deno.test("a single-length run renders both figures", async () => {
  const figures = await renderFigures(await fixture("results_single_length"));
  for (const title of PANEL_TITLES) assert.ok(figures.profilingSvg.includes(title), title);
  assert.ok(figures.profilingSvg.includes("needs two measured lengths"));
  assert.ok(!figures.profilingSvg.includes("NaN"));
  assert.ok(pngSize(figures.profilingPng).width > 0);
  assert.ok(pngSize(figures.kernelBreakdownPng).width > 0);
});

Deno.test("without GPU series the kernel breakdown says so", async () => {
  const figures = await renderFigures(await fixture("results_cpu_only"));
  assert.ok(figures.kernelBreakdownSvg.includes("No GPU series in this run"));
  assert.ok(figures.profilingSvg.includes("GPU adapter: none"));
  assert.ok(pngSize(figures.kernelBreakdownPng).height > 0);
});

Deno.test("the kernel breakdown labels every variant and the large stages in milliseconds", async () => {
  const { kernelBreakdownSvg } = await renderFigureSvgs(await fixture("results_full"));
  assert.ok(kernelBreakdownSvg.includes("GPU naive (NVIDIA H200)"));
  assert.ok(kernelBreakdownSvg.includes("GPU fused (NVIDIA H200)"));
  assert.ok(kernelBreakdownSvg.includes("flash attention (fused)"));
  assert.match(kernelBreakdownSvg, />\d+(\.\d+)? ms \(\d+%\)</);
  assert.match(kernelBreakdownSvg, /Σ kernels [\d.,]+ ms · wall [\d.,]+ ms/);
});

Deno.test("writeFigures() writes the four files and returns their paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeFigures(await fixture("results_cpu_only"), dir);
    assert.deepEqual(
      paths.map((path) => path.slice(dir.length + 1)).sort(),
      Object.values(FIGURE_FILE_NAMES).sort(),
    );
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
    assert.deepEqual(entries.sort(), Object.values(FIGURE_FILE_NAMES).sort(), "no temp files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseResults() reads null numbers as NaN and keeps a null adapter", async () => {
  const text = await Deno.readTextFile(join(FIXTURES_DIR, "results_cpu_only.json"));
  const results = parseResults(text, "results_cpu_only.json");
  assert.equal(results.environment.adapter, null);
  const fit = results.series[0]!.scaling!;
  assert.ok(Number.isNaN(fit.ci95[0]), "ci95 of a two-point fit is null in JSON, NaN in memory");
});

Deno.test("parseResults() rejects truncated, foreign and wrong-version files", () => {
  for (
    const [text, fragment] of [
      ['{"schemaVersion": 1, "config"', "not valid JSON"],
      ['{"schemaVersion": 3}', "schemaVersion is 3, expected 1 or 2"],
      ["[]", "the file is [], not an object"],
      ['{"schemaVersion": 1}', "config is missing, not an object"],
    ]
  ) {
    assert.throws(() => parseResults(text!, "x.json"), (error: unknown) => {
      assert.ok(error instanceof ResultsFileError);
      assert.ok(error.message.includes(fragment!), `${error.message} mentions ${fragment}`);
      return true;
    });
  }
});

Deno.test("log axes have few, readable ticks", () => {
  assert.deepEqual(decadeTicks([5, 20000]), [10, 100, 1000, 10000]);
  assert.ok(decadeTicks([1e-3, 1e12]).length <= 7);
  assert.deepEqual(decadeTicks([60, 400]), [100, 200]);
  assert.deepEqual(decadeTicks([2.1e9, 8.4e9]), [3e9, 4e9, 5e9, 6e9, 7e9, 8e9]);
  assert.deepEqual(seqLenTicks([10, 100, 1000, 10000], [6, 16000]), [10, 100, 1000, 10000]);
  const bytes = binaryTicks([2.6e6, 6.9e9]);
  assert.ok(bytes.length >= 3 && bytes.length <= 7);
  assert.ok(bytes.map(formatBytes).includes("1 GiB"), bytes.map(formatBytes).join());
  assert.equal(formatBytes(4 * 1024 * 1024), "4 MiB");
  assert.equal(formatMs(0.00582), "5.82 µs");
  assert.equal(formatMs(12345.6), "12,346 ms");
});

Deno.test("figure fonts are DejaVu Sans from npm, with real advance widths", async () => {
  const fonts = await loadFigureFonts();
  assert.ok(fonts.regularBytes.length > 100_000);
  assert.ok(fonts.regular.width("mmmm", 10) > fonts.regular.width("iiii", 10));
  assert.ok(fonts.bold.width("Title", 10) > fonts.regular.width("Title", 10));
});

/** Run `deno task plot`'s entry point with `args`; exit code, stderr and stdout. */
async function runPlotCli(
  args: string[],
): Promise<{ code: number; stderr: string; stdout: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      join(REPO_ROOT, "src", "cli", "plot.ts"),
      ...args,
    ],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  return { code, stderr: decoder.decode(stderr), stdout: decoder.decode(stdout) };
}

Deno.test("plot CLI: a bad --from exits 2 with one line and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const truncated = join(dir, "profiling_results.json");
    const full = await Deno.readTextFile(join(FIXTURES_DIR, "results_full.json"));
    await Deno.writeTextFile(truncated, full.slice(0, 800));
    for (
      const [args, fragment] of [
        [["--from", join(dir, "missing.json")], "no such file"],
        [["--from", truncated], "not valid JSON"],
        [["--from", join(FIXTURES_DIR, "..", "plot_test.ts")], "not valid JSON"],
        [["--from"], "--from"],
        [["--from", truncated, "--colour", "red"], "--colour"],
        [[], "--from is required"],
      ] as const
    ) {
      const { code, stderr } = await runPlotCli([...args]);
      assert.equal(code, 2, `exit code for ${args.join(" ")}`);
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${stderr}`);
      assert.ok(lines[0]!.includes(fragment), `${lines[0]} names ${fragment}`);
      assert.ok(!stderr.includes("    at "), "no stack trace");
    }
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
    assert.deepEqual(entries, ["profiling_results.json"], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plot CLI: re-renders next to the results file by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(
      join(FIXTURES_DIR, "results_skipped.json"),
      join(dir, "profiling_results.json"),
    );
    const { code, stderr } = await runPlotCli(["--from", join(dir, "profiling_results.json")]);
    assert.equal(code, 0, stderr);
    for (const name of Object.values(FIGURE_FILE_NAMES)) {
      assert.ok((await Deno.stat(join(dir, name))).size > 0, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the time-vs-FLOPs panel draws the calibrated ceilings only when calibrated", async () => {
  const results = await fixture("results_full");
  assert.ok(results.calibration, "results_full carries a calibration");
  const { profilingSvg } = await renderFigureSvgs(results);
  assert.ok(profilingSvg.includes("GPU matmul ceiling 24.1 TFLOP/s (calibrated)"));
  assert.ok(profilingSvg.includes("CPU matmul ceiling 37.6 GFLOP/s (calibrated)"));
  assert.ok(profilingSvg.includes("calibrated matmul ceiling"), "the panel's key names them");
  const uncalibrated = structuredClone(results);
  delete uncalibrated.calibration;
  const { profilingSvg: plain } = await renderFigureSvgs(uncalibrated);
  assert.ok(!plain.includes("matmul ceiling"));
});

Deno.test("f16 series render with their own colour, marker and legend label", async () => {
  const results = await fixture("results_full");
  for (const variant of ["naive", "fused"] as const) {
    const f32 = results.series.find((series) => series.name === `gpu_${variant}`)!;
    results.series.push({
      ...structuredClone(f32),
      name: `gpu_${variant}_f16`,
      precision: "f16",
      label: `GPU ${variant} f16 (NVIDIA H200)`,
    });
  }
  const { profilingSvg, kernelBreakdownSvg } = await renderFigureSvgs(results);
  for (const label of ["GPU naive f16 (NVIDIA H200)", "GPU fused f16 (NVIDIA H200)"]) {
    assert.ok(profilingSvg.includes(label), `legend shows ${label}`);
  }
  assert.ok(profilingSvg.includes('fill="#e69f00"') && profilingSvg.includes('fill="#cc79a7"'));
  assert.ok(kernelBreakdownSvg.length > 0);
});
