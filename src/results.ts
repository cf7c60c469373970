/**
 * The results object: the one data structure that flows from the profile to the report, the data
 * files and the figures. Paths fill it; nothing downstream knows about devices.
 *
 * It is also the schema of `profiling_results.json` (`schemaVersion` 2: every field name of
 * version 1, plus the `configurations` list and each series' `configurationId`).
 *
 * @module
 */

import type { ResultsAnalysis } from "./analysis/analysis.ts";
import type { ProfileConfig } from "./config.ts";
import type { Configuration } from "./configuration.ts";
import type { PrecisionName, VariantName } from "./variants/registry.ts";
import type { SampleSummary, ScalingFit } from "./stats.ts";
import type { BackendSource } from "./gpu/backends.ts";

/**
 * A series' name: its implementation (`cpu`, `gpu_<variant>`, `gpu_<variant>_f16`: f16 storage,
 * f32 arithmetic), and in a run of several configurations `__<configuration id>` after it.
 */
export type SeriesName = string;

/** A point's outcome: measured and validated, skipped before running, or failed while running. */
export type PointStatus = "ok" | "skipped" | "failed";

/** How a GPU output compared with the CPU path on the same inputs. */
export interface ValidationResult {
  /** max |gpu − cpu| over every output element */
  maxAbsError: number;
  /** ‖gpu − cpu‖₂ / ‖cpu‖₂ */
  relL2Error: number;
  /** the relative L2 tolerance the point was held to */
  tolerance: number;
  /** elements beyond 10·tolerance·(|cpu| + rms(cpu)), NaN included */
  mismatchCount: number;
  /** the first (up to 10) mismatching element indices, row-major [n, dModel] */
  firstMismatches: number[];
  /** within the tolerance, and every element within its bound */
  passed: boolean;
}

/** Memory of one forward, measured and theoretical, in bytes. */
export interface MemoryMeasurement {
  /** exact peak of live buffer bytes (GPUBuffer or typed array) during one forward */
  peakBytes: number;
  /** the same peak split by class: weights, activations, scores, staging */
  peakBytesByClass: Record<string, number>;
  /** CPU only: peak resident set size above the pre-forward baseline, sampled */
  rssPeakAboveBaselineBytes?: number;
  /** what the stages must hold at once, from the shapes alone */
  theoreticalBytes: number;
}

/** One sequence length of one series. */
export interface PointResult {
  /** the sequence length n */
  seqLen: number;
  /** ok, skipped or failed */
  status: PointStatus;
  /** why a point was skipped or failed */
  reason?: string;
  /**
   * wall clock of each timed run, milliseconds (empty when skipped): the forward, or in a
   * `backward` configuration the backward alone (its forward is `forwardWallMs`)
   */
  wallMs: number[];
  /** statistics of wallMs (absent when the point did not run) */
  wallMsSummary?: SampleSummary;
  /**
   * `backward` configurations: wall clock of the forward run just before each timed backward
   * (run by run, so forward + backward of a training step is their sum), milliseconds
   */
  forwardWallMs?: number[];
  /** `backward` configurations: the summary of `forwardWallMs` */
  forwardWallMsSummary?: SampleSummary;
  /** GPU only: per timed run, per stage, timestamp-query milliseconds */
  kernelMs?: number[][];
  /** GPU only: per timed run, per stage, its begin in ms after the run's first stage began
   * (timestamp queries; absent in older files, or when a run's stages did not fit its wall time) */
  kernelStartMs?: number[][];
  /** GPU only: summary per stage, in `stageNames` order */
  kernelMsSummary?: SampleSummary[];
  /** GPU only: per timed run, the sum of its stage times, ms (≤ the run's wall time) */
  kernelSumMs?: number[];
  /** GPU only: wall ms of empty submissions (submit → onSubmittedWorkDone) measured before the runs:
   * the fixed overhead every forward's wall time includes once */
  submitOverheadMs?: number[];
  /** GPU only: "timestamp-query" when per-stage times were measured, "none" without the feature */
  kernelTiming?: "timestamp-query" | "none";
  /** GPU only: host → device upload of inputs and weights, milliseconds, measured apart */
  uploadMs?: number;
  /** GPU only: device → host readback of the output, milliseconds, measured apart */
  readbackMs?: number;
  /**
   * When each timed run's `wallMs` began, ms on the profiling process's clock (performance.now():
   * since the process started); trace.json places its events by these (absent in older files)
   */
  runStartMs?: number[];
  /** GPU only: when the upload began, on the same clock */
  uploadStartMs?: number;
  /** GPU only: when the first empty submission began (the others follow back to back) */
  submitOverheadStartMs?: number;
  /** GPU only: when the readback began */
  readbackStartMs?: number;
  /** measured and theoretical bytes of a forward */
  memory?: MemoryMeasurement;
  /** GPU only: the output compared with the CPU path */
  validation?: ValidationResult;
}

/** One measured path: the CPU path or one GPU kernel variant. */
export interface SeriesResult {
  /** e.g. `cpu`, `gpu_fused` */
  name: SeriesName;
  /** the path that ran it */
  device: "cpu" | "gpu";
  /** GPU kernel variant */
  variant?: VariantName;
  /** GPU only: element type of the buffers (arithmetic is f32 in both); absent in older files: f32 */
  precision?: PrecisionName;
  /** the configuration it measures (`configurations[].id`); absent in version-1 files */
  configurationId?: string;
  /** human label, e.g. "GPU fused (llvmpipe, software)" */
  label: string;
  /** GPU only: the stages timed by timestamp queries, in order */
  stageNames?: string[];
  /** one per length, in the order of the lengths */
  points: PointResult[];
  /** least-squares log(time) on log(n) over points with n ≥ 1000 (absent with < 2 such points) */
  scaling?: ScalingFit;
  /** slope between consecutive measured lengths: log(t₂/t₁) / log(n₂/n₁) */
  localSlopes: { fromSeqLen: number; toSeqLen: number; slope: number }[];
}

/** Theoretical work of one forward at one length. */
export interface FlopsAtLength {
  /** the sequence length n */
  seqLen: number;
  /** the configuration (`configurations[].id`); absent in version-1 files */
  configurationId?: string;
  /** multiply-accumulates per stage (the seed's convention) */
  macsByStage: Record<string, number>;
  /** FLOPs per stage: 2 per MAC, plus scale and softmax elementwise work */
  flopsByStage: Record<string, number>;
  /** MACs of one forward */
  totalMacs: number;
  /** FLOPs of one forward (2 per MAC, plus scale and softmax) */
  totalFlops: number;
}

/** A kernel's sizes as recorded: workgroup size, template values, layout (absent: registers). */
export interface RecordedKernelParameters {
  /** invocations per workgroup */
  workgroupSize: number;
  /** the kernel's template values (block sizes) */
  template: Readonly<Record<string, number>>;
  /** absent: registers */
  layout?: "registers" | "workgroup-tiles";
}

/** The GPU adapter a series ran on. */
export interface AdapterDescription {
  /** the adapter's own description */
  description: string;
  /** its vendor */
  vendor: string;
  /** its architecture */
  architecture: string;
  /** its device */
  device: string;
  /** true for software adapters (lavapipe, llvmpipe, SwiftShader): "GPU" numbers are CPU emulation */
  isSoftware: boolean;
  /**
   * the WebGPU backends the adapter was requested through, as wgpu names them, those that exist
   * on this OS ("vulkan" for the native default on Linux, "gl" after the fallback); absent where
   * the process could not read the environment (wgpu's default), and in files before the
   * fallback, where it was the user's DENO_WEBGPU_BACKEND only
   */
  backend?: string;
  /** why those backends: src/gpu/backends.ts; absent in older files */
  backendSource?: BackendSource;
  /** the WebGPU features it offers */
  features: string[];
  /** its WebGPU limits */
  limits: Record<string, number>;
}

/** Where the profile ran. */
export interface EnvironmentDescription {
  /** the Deno version */
  deno: string;
  /** the V8 version */
  v8: string;
  /** the TypeScript version */
  typescript: string;
  /** the operating system */
  os: string;
  /** the CPU architecture */
  arch: string;
  /** the CPU model */
  cpuModel: string;
  /** the logical CPU cores */
  cpuCores: number;
  /** the machine's memory, bytes */
  totalMemoryBytes: number;
  /** null when no adapter was found or GPU was not requested */
  adapter: AdapterDescription | null;
}

/** A series or point that did not run, and why. */
export interface SkipRecord {
  /** the series, `gpu` (no adapter) or `configuration` (an impossible cell of the grid) */
  series: SeriesName | "gpu" | "configuration";
  /** for an impossible cell: the id it would have had */
  configuration?: string;
  /** the length, when one point was skipped */
  seqLen?: number;
  /** why */
  reason: string;
}

/** The adapter's and CPU's ceilings from `deno task calibrate` (src/gpu/calibration.ts). */
export interface Calibration {
  /** the adapter the ceilings belong to (description, vendor, architecture, backend) */
  adapterKey: string;
  /** the GPU adapter's ceilings */
  gpu: {
    /** best projection GFLOP/s (2 FLOPs per MAC) over the tuning candidates */
    matmulGflops: number;
    /** the projection parameters that reached it */
    matmulParameters: RecordedKernelParameters;
    /** bytes read + written per second by the copy kernel, GB/s (10⁹) */
    copyGBps: number;
    timing: "timestamp-query" | "wall-clock";
  };
  /** the CPU path's ceiling */
  cpu: {
    /** one thread's gemm GFLOP/s */
    matmulGflopsOneThread: number;
    threads: number;
    /** one thread's rate times the threads: the CPU path's ceiling */
    matmulGflops: number;
  };
  /** when, ISO 8601 */
  calibratedAt: string;
}

/** Everything one profile produced: `profiling_results.json`. */
export interface ProfileResults {
  /** the file format's version */
  schemaVersion: 1 | 2;
  /** the tool that wrote the file */
  tool: "self-attention-profiler";
  /** when the profile started, ISO 8601 */
  createdAt: string;
  /** the configuration it ran */
  config: ProfileConfig;
  /** every configuration of the grid that ran, in order (absent in version-1 files) */
  configurations?: Configuration[];
  /** versions, OS, CPU and adapter */
  environment: EnvironmentDescription;
  /** what the FLOP numbers count, in words */
  flopsConvention: string;
  /** theoretical work per length */
  flops: FlopsAtLength[];
  /** every series, with its points */
  series: SeriesResult[];
  /** series and points that did not run, with reasons */
  skips: SkipRecord[];
  /** the ceilings of this adapter, when it was calibrated (`deno task calibrate`) */
  calibration?: Calibration;
  /** GPU: the kernel parameters in use, per kernel, where tuning chose them (else the defaults) */
  tunedKernelParameters?: Record<string, RecordedKernelParameters>;
  /**
   * Derived, written with several configurations only: comparisons between configurations and the
   * crossovers of sub-quadratic attention (src/analysis/analysis.ts); readers recompute it
   */
  analysis?: ResultsAnalysis;
  /** true when Ctrl-C / SIGTERM stopped the run early. Every point present is complete; a file
   * written while the profile runs lacks the points still to come. */
  interrupted: boolean;
}
