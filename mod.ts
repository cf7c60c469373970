/**
 * Self-attention profiler: how the time, memory and work of multi-head self-attention grow with
 * sequence length, on the CPU path (typed arrays on Workers) and on hand-written WGSL kernels
 * through Deno's WebGPU (`naive`: O(n²) memory; `fused`: flash attention, O(n) memory), every GPU
 * output checked against the CPU path before it is timed.
 *
 * Most users run `deno task profile`; this module is the same machinery as a library.
 *
 * @example Profile two lengths on the CPU path and print the report
 * ```ts
 * import { DEFAULT_CONFIG, formatReport, QuietProgress, runProfile } from "./mod.ts";
 *
 * const results = await runProfile(
 *   { ...DEFAULT_CONFIG, seqLens: [64, 128], runs: 3, devices: ["cpu"] },
 *   {
 *     progress: new QuietProgress(),
 *     interruption: new AbortController().signal,
 *     gpu: null,
 *     availableMemoryBytes: () => Deno.systemMemoryInfo().available,
 *   },
 * );
 * console.log(formatReport(results));
 * ```
 *
 * @example Check a GPU variant against the CPU path
 * ```ts
 * import { compareOutputs, cpuAttentionForward, generateInputs, GpuAttention, openGpu } from "./mod.ts";
 *
 * const gpu = await openGpu();
 * if (gpu) {
 *   const inputs = generateInputs({ seqLen: 100, dModel: 64, heads: 4 }, 42);
 *   const attention = await GpuAttention.create(gpu, "fused", inputs.shape);
 *   await attention.upload(inputs);
 *   await attention.forward();
 *   const { out } = await attention.readback();
 *   console.log(compareOutputs(out, await cpuAttentionForward(inputs), 1e-4));
 *   attention.destroy();
 *   gpu.destroy();
 * }
 * ```
 *
 * @module
 */

/** The configuration of a profile and its defaults (the seed experiment's). */
export {
  DEFAULT_CONFIG,
  type DeviceName,
  type ProfileConfig,
  type VariantName,
} from "./src/config.ts";
/** Parse and validate the flags of `deno task profile`. */
export { parseProfileArgs } from "./src/cli/profile_args.ts";
/** Run the experiment and collect the results object. */
export { type ProfileHooks, runProfile } from "./src/profile.ts";
/** Progress reporters for runProfile. */
export { ConsoleProgress, type ProgressReporter, QuietProgress } from "./src/progress.ts";
/** The results object (the schema of profiling_results.json). */
export type {
  FlopsAtLength,
  PointResult,
  ProfileResults,
  SeriesName,
  SeriesResult,
  ValidationResult,
} from "./src/results.ts";
/** Shapes and seeded inputs of a forward. */
export type { AttentionInputs, AttentionShape, AttentionWeights } from "./src/shape.ts";
export { generateInputs, generateWeights, SeededRandom } from "./src/random.ts";
/** The CPU path: the reference of every GPU kernel. */
export { CpuAttention, cpuAttentionForward } from "./src/reference/cpu_attention.ts";
/** The GPU path: device, the two kernel variants, validation. */
export { NATIVE_WEBGPU_BACKENDS, selectWebGpuBackends } from "./src/gpu/backends.ts";
export { type GpuContext, openGpu } from "./src/gpu/device.ts";
export { GpuAttention } from "./src/gpu/gpu_attention.ts";
export { compareOutputs } from "./src/gpu/validation.ts";
/** Theoretical work and memory. */
export { attentionFlops, FLOPS_CONVENTION, macsByStage } from "./src/flops.ts";
export { theoreticalMemory } from "./src/memory.ts";
/** Statistics of a point and the scaling exponent of a series. */
export {
  fitScaling,
  localSlopes,
  type SampleSummary,
  type ScalingFit,
  summarize,
} from "./src/stats.ts";
/** Output: console report, data files, report files (Markdown, HTML, trace), figures. */
export { formatReport, reportBlocks } from "./src/report.ts";
export { renderMarkdown, renderText, type ReportBlock } from "./src/report/document.ts";
export { writeReportFiles, writeResultsFiles } from "./src/io/results_files.ts";
export { buildTrace, type TraceEvent, type TraceFile } from "./src/io/trace.ts";
/** Two profiles compared point by point (`deno task compare`). */
export { compareResults, type Comparison, type Verdict } from "./src/compare/compare.ts";
export {
  bootstrapGroupedMedianRatio,
  bootstrapMedianRatio,
  DEFAULT_BOOTSTRAP,
} from "./src/compare/bootstrap.ts";
export { decodeNpz, encodeNpz, type NpyArray } from "./src/io/npz.ts";
export { renderFigures, writeFigures } from "./src/plot/figures.ts";
export { loadResults } from "./src/plot/load_results.ts";
/** Types the exports above refer to. */
export type { ParsedProfileArgs } from "./src/cli/profile_args.ts";
export type { BootstrapOptions, RatioInterval } from "./src/compare/bootstrap.ts";
export type {
  ComparedPoint,
  ComparedSide,
  CompareOptions,
  MetricName,
  NotCompared,
  PointKey,
} from "./src/compare/compare.ts";
export type { Configuration, ConfigurationGrid, PassName } from "./src/configuration.ts";
export { STAGE_NAMES, type StageName } from "./src/flops.ts";
export { SEED_STAGE_NAMES } from "./src/variants/stages.ts";
export type { BackendSource } from "./src/gpu/backends.ts";
export type { ForwardTiming, Preflight } from "./src/gpu/gpu_attention.ts";
export type { KernelId, KernelLayout, KernelParameters, Precision } from "./src/gpu/kernels.ts";
export type { ScoreWindow } from "./src/gpu/plan.ts";
export type { NpyData } from "./src/io/npz.ts";
export type { TheoreticalMemory } from "./src/memory.ts";
export type { RenderedFigures } from "./src/plot/figures.ts";
export type { LengthDone } from "./src/profile.ts";
export type { GpuForward, GpuForwardFactory } from "./src/profile_points.ts";
export type { ForwardMemory } from "./src/reference/cpu_attention.ts";
export type { FigureBlock, TableBlock } from "./src/report/document.ts";
export type {
  AdapterDescription,
  Calibration,
  EnvironmentDescription,
  MemoryMeasurement,
  PointStatus,
  RecordedKernelParameters,
  SkipRecord,
} from "./src/results.ts";
export type { AttentionKind, MaskName } from "./src/shape.ts";
export type { ResultsAnalysis } from "./src/analysis/analysis.ts";
export type {
  ConfigurationComparison,
  RatioPoint,
  Throughput,
} from "./src/analysis/configurations.ts";
export type { Crossover, CrossoverOutcome, CrossoverPoint } from "./src/analysis/crossover.ts";
export type { AttentionGradients, GradientName } from "./src/gradients.ts";
export type { KeptBufferName, KeptBuffers } from "./src/gpu/gpu_attention.ts";
export type { Outlier } from "./src/stats.ts";
export { type PrecisionName, VARIANTS } from "./src/variants/registry.ts";
