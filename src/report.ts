/**
 * The report of a profile: tables of every series, then an analysis that interprets its own
 * numbers — the fitted exponents against the expected 2, how memory grows per series, the
 * GPU-over-CPU speedup, the largest validation error, and every skipped or failed point. Built
 * once as report blocks (src/report/document.ts) that the console, report.md and report.html all
 * render.
 *
 * @module
 */

import { FLOPS_CONVENTION, stageFlops } from "./flops.ts";
import type {
  FlopsAtLength,
  PointResult,
  ProfileResults,
  SeriesResult,
  ValidationResult,
} from "./results.ts";
import { analyseResults, describeAnalysis } from "./analysis/analysis.ts";
import {
  configurationLabel,
  configurationOf,
  hasSeveralConfigurations,
  seriesByConfiguration,
} from "./analysis/configurations.ts";
import { memoryGrowth } from "./analysis/memory_growth.ts";
import type { Configuration } from "./configuration.ts";
import { median } from "./stats.ts";
import { SCALING_FIT_MIN_SEQ_LEN } from "./summaries.ts";
import { stageBytes } from "./roofline.ts";
import { backendPhrase } from "./gpu/backends.ts";
import { renderText, type ReportBlock, type TableBlock } from "./report/document.ts";
import { shapeOf } from "./configuration.ts";
import { flashConventionFlops } from "./variants/stages.ts";
import type { AttentionShape } from "./shape.ts";

/** Bytes as B, KiB, MiB or GiB with 3 significant digits. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toPrecision(3)} ${units[unit]}`;
}

/** Milliseconds with precision that suits their size. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** The work of a series' configuration at one length (version-1 files: the one configuration). */
function flopsAt(
  results: ProfileResults,
  series: SeriesResult,
  seqLen: number,
): FlopsAtLength | undefined {
  return results.flops.find((f) =>
    f.seqLen === seqLen &&
    (f.configurationId === undefined || f.configurationId === series.configurationId)
  );
}

/** The shape of a series' configuration at one length. */
function shapeAt(results: ProfileResults, series: SeriesResult, seqLen: number): AttentionShape {
  const configuration = results.configurations?.find((c) => c.id === series.configurationId);
  return configuration === undefined
    ? { seqLen, dModel: results.config.dModel, heads: results.config.heads }
    : shapeOf(configuration, seqLen);
}

/** GFLOP/s of a mean time (2·MAC convention plus elementwise work, see FLOPS_CONVENTION). */
function gflopsPerSecond(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

function seriesTable(results: ProfileResults, series: SeriesResult): TableBlock {
  const rows = series.points.map((point) => {
    const s = point.wallMsSummary;
    const work = flopsAt(results, series, point.seqLen);
    if (point.status !== "ok" || s === undefined) {
      return [String(point.seqLen), point.status, "", "", "", "", "", "", ""];
    }
    const memory = point.memory;
    return [
      String(point.seqLen),
      `${formatMs(s.mean)} ± ${formatMs(s.sem)}`,
      formatMs(s.median),
      `${formatMs(s.ci95[0])}…${formatMs(s.ci95[1])}`,
      `${(100 * s.cv).toFixed(1)} %`,
      work ? gflopsPerSecond(work.totalFlops, s.mean).toFixed(2) : "",
      memory ? formatBytes(memory.peakBytes) : "",
      memory ? formatBytes(memory.theoreticalBytes) : "",
      point.validation
        ? point.validation.relL2Error.toExponential(1)
        : series.device === "cpu"
        ? "reference"
        : "",
    ];
  });
  const header = [
    "n",
    "mean ± SEM ms",
    "median",
    "95 % CI",
    "CV",
    "GFLOP/s",
    "peak mem",
    "theory",
    "rel L2 err",
  ];
  return { kind: "table", caption: `${series.label} [${series.name}]`, header, rows };
}

/**
 * A `backward` series' training step per point: the forward run before each timed backward, the
 * backward alone (the series' times), their sum, and backward ÷ forward.
 */
function passTable(results: ProfileResults, series: SeriesResult): TableBlock | null {
  const rows = series.points.filter((p) => p.forwardWallMsSummary && p.wallMsSummary).map((p) => {
    const forward = p.forwardWallMsSummary!.mean, backward = p.wallMsSummary!.mean;
    const convention = flashConventionFlops(shapeAt(results, series, p.seqLen));
    return [
      String(p.seqLen),
      formatMs(forward),
      formatMs(backward),
      formatMs(forward + backward),
      (backward / forward).toFixed(2),
      gflopsPerSecond(convention.backward, backward).toFixed(2),
    ];
  });
  if (rows.length === 0) return null;
  return {
    kind: "table",
    caption: `${series.name}: training step, mean wall ms (forward: the forward run before each ` +
      `timed backward; backward: the gradients of x and every weight and bias; GFLOP/s of the ` +
      `backward by FlashAttention's convention: attention only, 2.5 × 4·B·h·n²·d_k, causal /2)`,
    header: ["n", "forward", "backward", "forward + backward", "backward ÷ forward", "FA GFLOP/s"],
    rows,
  };
}

function stageTable(results: ProfileResults, series: SeriesResult): TableBlock | null {
  const stages = series.stageNames;
  if (stages === undefined) return null;
  const rows = series.points.filter((p) => p.kernelMsSummary !== undefined).map((point) => {
    const means = point.kernelMsSummary!.map((s) => s.mean);
    const total = means.reduce((a, b) => a + b, 0);
    const work = flopsAt(results, series, point.seqLen)!;
    return [
      String(point.seqLen),
      ...means.map((ms, i) =>
        `${formatMs(ms)} (${(100 * ms / total).toFixed(0)} %, ${
          gflopsPerSecond(stageFlops(work, stages[i]!), ms).toFixed(1)
        } GF/s)`
      ),
      formatMs(total),
      formatMs(point.wallMsSummary!.mean),
      point.submitOverheadMs ? formatMs(median(point.submitOverheadMs)) : "",
    ];
  });
  if (rows.length === 0) return null;
  const timing = series.points.find((p) => p.kernelTiming)?.kernelTiming ?? "timestamp-query";
  return {
    kind: "table",
    caption: `${series.name}: per-stage kernel time, ms (${timing}; share; GFLOP/s), wall clock ` +
      "and the median empty submission",
    header: ["n", ...stages, "sum", "wall", "empty submit"],
    rows,
  };
}

/** One stage of one point with its achieved rates. */
interface StageRate {
  series: string;
  seqLen: number;
  stage: string;
  ms: number;
  gflops: number;
  gbps: number;
}

/** Every timed stage of a series with its GFLOP/s and GB/s (least traffic at its precision). */
function stageRates(results: ProfileResults, series: SeriesResult): StageRate[] {
  const stages = series.stageNames ?? [];
  const elementBytes = series.precision === "f16" ? 2 : 4;
  return series.points.filter((p) => p.kernelMsSummary !== undefined).flatMap((point) => {
    const shape = shapeAt(results, series, point.seqLen);
    const work = flopsAt(results, series, point.seqLen)!;
    return point.kernelMsSummary!.map((summary, i) => ({
      series: series.name,
      seqLen: point.seqLen,
      stage: stages[i]!,
      ms: summary.mean,
      gflops: gflopsPerSecond(stageFlops(work, stages[i]!), summary.mean),
      gbps: stageBytes(shape, stages[i]!, elementBytes) / (summary.mean * 1e6),
    }));
  });
}

/** A share of a ceiling, flagged `↑` above 100 % (explained by {@link describeCeilings}). */
function share(rate: number, ceiling: number): string {
  const percent = 100 * rate / ceiling;
  return `${percent.toFixed(0)} %${percent > 100 ? " ↑" : ""}`;
}

/** Each stage's achieved GFLOP/s and GB/s as shares of the calibrated ceilings. */
function rooflineTable(results: ProfileResults, series: SeriesResult): TableBlock | null {
  const calibration = results.calibration;
  if (series.stageNames === undefined || calibration === undefined) return null;
  const rows = stageRates(results, series).map((rate) => [
    String(rate.seqLen),
    rate.stage,
    formatMs(rate.ms),
    rate.gflops.toFixed(1),
    share(rate.gflops, calibration.gpu.matmulGflops),
    rate.gbps.toFixed(2),
    share(rate.gbps, calibration.gpu.copyGBps),
  ]);
  if (rows.length === 0) return null;
  return {
    kind: "table",
    caption:
      `${series.name}: share of the calibrated ceilings (matmul ${
        calibration.gpu.matmulGflops.toFixed(1)
      } GFLOP/s, copy ${calibration.gpu.copyGBps.toFixed(1)} GB/s read + written; ` +
      `bytes = least f32 traffic)`,
    header: ["n", "stage", "ms", "GFLOP/s", "of matmul", "GB/s", "of copy"],
    rows,
  };
}

/**
 * The stages that ran above a calibrated ceiling (shares over 100 %, flagged ↑), and what that
 * means: a ceiling is the best rate its measurement saw, and this run saw a better one, which
 * becomes the ceiling to judge by.
 */
function describeCeilings(results: ProfileResults): string[] {
  const calibration = results.calibration;
  if (calibration === undefined) return [];
  const rates = results.series.flatMap((series) => stageRates(results, series));
  const ceilings = [
    { name: "matmul", unit: "GFLOP/s", ceiling: calibration.gpu.matmulGflops, of: "gflops" },
    { name: "copy", unit: "GB/s", ceiling: calibration.gpu.copyGBps, of: "gbps" },
  ] as const;
  return ceilings.flatMap(({ name, unit, ceiling, of }) => {
    const above = rates.filter((rate) => rate[of] > ceiling).sort((a, b) => b[of] - a[of]);
    if (above.length === 0) return [];
    const best = above[0]!;
    const where = (rate: StageRate) => `${rate.series} ${rate.stage} n=${rate.seqLen}`;
    return [
      `${above.length} stage time${above.length > 1 ? "s" : ""} ran above the calibrated ${name} ` +
      `ceiling of ${ceiling.toFixed(1)} ${unit} (↑ in the tables; best: ${where(best)} at ` +
      `${best[of].toFixed(1)} ${unit}, ${(100 * best[of] / ceiling).toFixed(0)} %). A ceiling is ` +
      `the best rate its measurement saw (calibrated ${calibration.calibratedAt}), so these ` +
      `kernels reach more than calibration measured — it ran while the machine was busier, or ` +
      `its one shape suits the kernels less than these. ${best[of].toFixed(1)} ${unit} is the ` +
      `ceiling to judge by; \`deno task calibrate\` measures it again.`,
    ];
  });
}

function okPoints(series: SeriesResult): PointResult[] {
  return series.points.filter((p) => p.status === "ok" && p.wallMsSummary !== undefined);
}

function describeScaling(series: SeriesResult): string {
  const fit = series.scaling;
  const slopes = series.localSlopes.map((s) =>
    `${s.fromSeqLen}→${s.toSeqLen}: ${s.slope.toFixed(2)}`
  );
  const local = slopes.length > 0 ? `; local slopes ${slopes.join(", ")}` : "";
  if (fit === undefined) {
    return `${series.name}: fewer than two lengths ≥ ${SCALING_FIT_MIN_SEQ_LEN}, no exponent fitted${local}.`;
  }
  const interval = Number.isFinite(fit.ci95[0])
    ? ` (95 % CI ${fit.ci95[0].toFixed(2)}…${fit.ci95[1].toFixed(2)})`
    : " (no interval)";
  const [low, high] = Number.isFinite(fit.ci95[0]) ? fit.ci95 : [fit.exponent, fit.exponent];
  const verdict = low <= 2 && 2 <= high
    ? "consistent with 2: the n² score work dominates"
    : high < 2
    ? "below 2: the O(n·d²) projections and fixed costs still weigh in at these lengths"
    : "above 2: time grows faster than the n² arithmetic at these lengths";
  const overhead = series.localSlopes.find((s) =>
    s.toSeqLen <= SCALING_FIT_MIN_SEQ_LEN && s.slope < 1
  );
  const overheadNote = overhead
    ? ` Below n = ${SCALING_FIT_MIN_SEQ_LEN} time grows slower than n (slope ${
      overhead.slope.toFixed(2)
    } at ${overhead.fromSeqLen}→${overhead.toSeqLen}): fixed overhead dominates there.`
    : "";
  return `${series.name}: time ∝ n^${fit.exponent.toFixed(2)}${interval} over n = ${
    fit.seqLens.join(", ")
  } — ${verdict}${local}.${overheadNote}`;
}

/** What a path's peak memory should grow as, per pass (the CPU path under `cpu`). */
const EXPECTED_MEMORY: Record<"forward" | "backward", Record<string, string>> = {
  forward: {
    fused: "O(n): no n×n matrix is ever stored",
    naive:
      "O(n²) once the h·n² scores outgrow the 6·n·d activations: every head's scores are stored",
    cpu: "O(n²) once n² outgrows the 6·n·d activations: one head's n×n scores are stored at a time",
    linear: "O(n): per-chunk states, no scores",
  },
  backward: {
    fused: "O(n): P is recomputed block by block from each row's log-sum-exp, never stored",
    naive: "O(n²): the forward's P and the backward's dS of every head are stored",
    cpu: "O(n²): P and dS of one kv head's query heads are stored at a time",
  },
};

function describeMemory(results: ProfileResults, series: SeriesResult): string | null {
  const growth = memoryGrowth(series);
  if (growth === null) return null;
  const { from: a, to: b } = growth;
  const configuration = configurationOf(results, series);
  // a sliding window keeps a band of scores, not n×n, wherever scores are stored
  const expected = (configuration?.window ?? 0) > 0 && series.variant !== "fused"
    ? `O(n·W) once the band of scores outgrows the activations (W = ${configuration!.window})`
    : EXPECTED_MEMORY[configuration?.pass ?? "forward"][
      configuration?.attention === "linear" ? "linear" : series.variant ?? "cpu"
    ];
  if (expected === undefined) return null;
  return `${series.name}: peak memory ${formatBytes(a.memory!.peakBytes)} → ${
    formatBytes(b.memory!.peakBytes)
  } from n = ${a.seqLen} to ${b.seqLen}; the bytes that depend on n (peak minus weights) grow as n^${
    growth.exponent.toFixed(2)
  }; expected ${expected}.`;
}

function describeSpeedups(results: ProfileResults): string[] {
  const gpuSeries = results.series.filter((s) => s.device === "gpu");
  const cpuOf = (gpu: SeriesResult) =>
    results.series.find((s) => s.device === "cpu" && s.configurationId === gpu.configurationId);
  if (gpuSeries.every((gpu) => cpuOf(gpu) === undefined)) return [];
  const lines = gpuSeries.flatMap((gpu) => {
    const cpu = cpuOf(gpu);
    if (cpu === undefined) return [];
    const ratios = okPoints(gpu).flatMap((point) => {
      const cpuPoint = okPoints(cpu).find((p) => p.seqLen === point.seqLen);
      if (cpuPoint === undefined) return [];
      const ratio = cpuPoint.wallMsSummary!.mean / point.wallMsSummary!.mean;
      return [`n=${point.seqLen}: ${ratio.toFixed(2)}×`];
    });
    return [
      `${gpu.name} speedup over ${cpu.name} (wall clock): ${
        ratios.join(", ") || "no common lengths"
      }.`,
    ];
  });
  const adapter = results.environment.adapter;
  if (adapter?.isSoftware) {
    lines.push(
      `The adapter "${adapter.description}" is a software renderer on the same CPU cores: ` +
        'these "GPU" numbers are a CPU emulation, not a GPU.',
    );
  }
  return lines;
}

/** A NaN error (a non-finite output) ranks worst. */
function errorRank(validation: ValidationResult): number {
  return Number.isNaN(validation.relL2Error) ? Infinity : validation.relL2Error;
}

/** The largest validation error per storage precision (f16 errors would bury the f32 ones). */
function describeValidation(results: ProfileResults): string[] {
  return (["f32", "f16"] as const).flatMap((precision) => {
    const checked = results.series
      .filter((s) => (s.precision ?? "f32") === precision)
      .flatMap((s) =>
        s.points.filter((p) => p.validation !== undefined).map((p) => ({
          series: s.name,
          point: p,
        }))
      );
    if (checked.length === 0) return [];
    const worst = checked.reduce((a, b) =>
      errorRank(b.point.validation!) > errorRank(a.point.validation!) ? b : a
    );
    const failed = checked.filter((c) => !c.point.validation!.passed).length;
    const v = worst.point.validation!;
    const mismatches = v.mismatchCount > 0
      ? `, ${v.mismatchCount} elements out of bounds (first at ${v.firstMismatches.join(", ")})`
      : "";
    return [
      `Validation (${precision}): ${checked.length} GPU outputs checked against the CPU path, ` +
      `${failed} failed; largest relative L2 error ${v.relL2Error.toExponential(2)} (max abs ${
        v.maxAbsError.toExponential(2)
      }${mismatches}) at ${worst.series} n=${worst.point.seqLen}, tolerance ${v.tolerance}.`,
    ];
  });
}

/**
 * How much of the wall clock the stage times cover where the fixed submission cost is small.
 * wgpu resolves timestamps in raw ticks, which are nanoseconds on some adapters only
 * (gfx-rs/wgpu#6719): a coverage far below 1 says the per-stage times are not to be trusted.
 */
function describeTimingFidelity(results: ProfileResults): string[] {
  return results.series.flatMap((series) => {
    const covered = okPoints(series).flatMap((point) => {
      if (point.kernelSumMs === undefined || point.submitOverheadMs === undefined) return [];
      const wallMs = median(point.wallMs);
      const overheadMs = median(point.submitOverheadMs);
      if (wallMs < 10 * overheadMs) return [];
      return [{ seqLen: point.seqLen, share: median(point.kernelSumMs) / (wallMs - overheadMs) }];
    });
    if (covered.length === 0) return [];
    const shares = covered.map((c) => `n=${c.seqLen}: ${(100 * c.share).toFixed(0)} %`).join(", ");
    const suspicious = covered.some((c) => c.share < 0.5);
    return [
      `${series.name}: stage times cover ${shares} of the wall clock minus the empty submission` +
      (suspicious
        ? " — far below 100 %: this adapter's timestamps may not be nanoseconds (wgpu " +
          "reports raw ticks on some GPUs), so per-stage times are suspect."
        : "."),
    ];
  });
}

function describeProblems(results: ProfileResults): string[] {
  const lines = results.series.flatMap((s) =>
    s.points.filter((p) => p.status !== "ok").map((p) =>
      `${s.name} n=${p.seqLen} ${p.status}: ${p.reason}`
    )
  );
  const seriesSkips = results.skips.filter((s) => s.seqLen === undefined).map((s) =>
    `${s.series}: ${s.reason}`
  );
  return [...seriesSkips, ...lines];
}

/** The setup in four lines: configuration, environment, adapter, FLOP convention. */
export function setupLines(results: ProfileResults): string[] {
  const env = results.environment;
  const config = results.config;
  const backend = env.adapter && backendPhrase(env.adapter);
  const adapter = env.adapter
    ? `${env.adapter.description} (${
      env.adapter.isSoftware ? "software adapter: GPU numbers are CPU emulation" : "hardware"
    })${backend ? `, WebGPU backend ${backend}` : ""}`
    : "none";
  return [
    `Self-attention profile: ${
      hasSeveralConfigurations(results)
        ? `${results.configurations!.length} configurations`
        : `d_model ${config.dModel}, ${config.heads} heads`
    }, ${config.runs} runs per point ` +
    `(+${config.warmup} warm-up), seed ${config.seed}`,
    `Environment: Deno ${env.deno} (V8 ${env.v8}), ${env.os} ${env.arch}, ${env.cpuModel}, ${env.cpuCores} cores`,
    `GPU adapter: ${adapter}`,
    `FLOPs: ${FLOPS_CONVENTION}`,
  ];
}

/**
 * The theoretical work of a configuration at each length; with several configurations captioned
 * with the configuration in words, heading its series' tables.
 */
function flopsTable(results: ProfileResults, configuration: Configuration | undefined): TableBlock {
  const several = hasSeveralConfigurations(results) && configuration !== undefined;
  return {
    kind: "table",
    ...(several
      ? { caption: `Configuration: ${configurationLabel(configuration)} [${configuration.id}]` }
      : {}),
    header: ["n", "MACs", "FLOPs"],
    rows: results.flops.filter((f) => f.configurationId === configuration?.id).map((f) => [
      String(f.seqLen),
      f.totalMacs.toExponential(3),
      f.totalFlops.toExponential(3),
    ]),
  };
}

/**
 * Every table of the report, per configuration: its work, then per series its times, stages and
 * ceilings.
 */
export function reportTables(results: ProfileResults): TableBlock[] {
  return seriesByConfiguration(results).flatMap(({ configuration, series }) => [
    flopsTable(results, configuration),
    ...series.flatMap((one) =>
      [
        seriesTable(results, one),
        passTable(results, one),
        stageTable(results, one),
        rooflineTable(results, one),
      ]
        .filter((table): table is TableBlock => table !== null)
    ),
  ]);
}

/** The analysis: one item per finding. */
export function analysisItems(results: ProfileResults): string[] {
  const analysis = [
    ...results.series.map(describeScaling),
    ...results.series.map((series) => describeMemory(results, series))
      .filter((line): line is string => line !== null),
    ...describeSpeedups(results),
    ...describeCeilings(results),
    ...describeAnalysis(results, analyseResults(results)),
    ...describeTimingFidelity(results),
    ...describeValidation(results),
  ];
  const outliers = results.series.flatMap((s) =>
    okPoints(s).filter((p) => p.wallMsSummary!.outliers.length > 0).map((p) =>
      `${s.name} n=${p.seqLen}: ${p.wallMsSummary!.outliers.length}`
    )
  );
  if (outliers.length > 0) {
    analysis.push(`Tukey outliers (labelled, kept): ${outliers.join(", ")}.`);
  }
  const problems = describeProblems(results);
  if (problems.length > 0) {
    analysis.push(`Skipped or failed:\n${problems.map((line) => `- ${line}`).join("\n")}`);
  }
  if (results.interrupted) {
    analysis.push("Interrupted: only the points finished before the interrupt are here.");
  }
  return analysis;
}

/** The whole report as blocks: setup, tables, calibration note, analysis. */
export function reportBlocks(results: ProfileResults): ReportBlock[] {
  const blocks: ReportBlock[] = [
    { kind: "paragraph", lines: setupLines(results) },
    ...reportTables(results),
  ];
  if (results.calibration === undefined && results.environment.adapter !== null) {
    blocks.push({
      kind: "paragraph",
      lines: ["No calibration for this adapter: `deno task calibrate` measures its ceilings."],
    });
  }
  blocks.push({ kind: "heading", text: "Analysis" }, {
    kind: "list",
    items: analysisItems(results),
  });
  return blocks;
}

/** The whole console report of a profile. */
export function formatReport(results: ProfileResults): string {
  return renderText(reportBlocks(results));
}
