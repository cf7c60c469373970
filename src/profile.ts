/**
 * The experiment: for each sequence length, run the CPU path and each GPU variant on the same
 * seeded inputs, check every GPU output against the CPU path before timing it, and collect raw
 * samples into the results object. Knows nothing of files or figures: the caller gets callbacks.
 *
 * @module
 */

import type { PrecisionName, ProfileConfig, VariantName } from "./config.ts";
import { describeEnvironment } from "./environment.ts";
import { attentionFlops, FLOPS_CONVENTION } from "./flops.ts";
import type { GpuContext } from "./gpu/device.ts";
import { GpuAttention, type Preflight } from "./gpu/gpu_attention.ts";
import { PRECISION_BYTES } from "./gpu/kernels.ts";
import { measureSubmitOverheadMs } from "./gpu/submit_overhead.ts";
import { compareOutputs, GPU_TOLERANCES } from "./gpu/validation.ts";
import { CPU_SCORE_HEADS_LIVE, RssSampler, theoreticalMemory } from "./memory.ts";
import { cpuPreflight } from "./preflight.ts";
import type { ProgressReporter } from "./progress.ts";
import { generateInputs } from "./random.ts";
import { CpuAttention } from "./reference/cpu_attention.ts";
import type {
  Calibration,
  PointResult,
  ProfileResults,
  SeriesName,
  SeriesResult,
  SkipRecord,
} from "./results.ts";
import type { AttentionInputs, AttentionShape } from "./shape.ts";
import { summarize } from "./stats.ts";
import { finalizeSeries } from "./summaries.ts";

/** Interval of the RSS sampler during a CPU point: often enough to see the peak, cheap. */
const RSS_SAMPLE_INTERVAL_MS = 10;

/** Empty submissions timed before each GPU point's runs. */
const SUBMIT_OVERHEAD_SAMPLES = 5;

/** The series of each (precision, variant). */
const GPU_SERIES: Readonly<Record<PrecisionName, Record<VariantName, SeriesName>>> = {
  f32: { naive: "gpu_naive", fused: "gpu_fused" },
  f16: { naive: "gpu_naive_f16", fused: "gpu_fused_f16" },
};

/** One GPU forward as the profile uses it (GpuAttention; a stand-in in tests). */
export type GpuForward = Pick<
  GpuAttention,
  "stageNames" | "upload" | "forward" | "readback" | "memory" | "destroy"
>;

/** How the profile builds GPU forwards: GpuAttention by default, a stand-in in tests. */
export interface GpuForwardFactory {
  preflight(
    gpu: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options?: { precision?: PrecisionName },
  ): Preflight;
  create(
    gpu: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options?: { precision?: PrecisionName },
  ): Promise<GpuForward>;
}

/** What the profile needs from its caller. */
export interface ProfileHooks {
  progress: ProgressReporter;
  /** aborted by Ctrl-C / SIGTERM: the profile stops after the current run */
  interruption: AbortSignal;
  /** the GPU, or null when it is not used (not requested, or no adapter) */
  gpu: GpuContext | null;
  /** memory the CPU path may use, bytes (Deno.systemMemoryInfo().available; injectable for tests) */
  availableMemoryBytes: () => number;
  /** builds the GPU forwards (default GpuAttention) */
  gpuForwards?: GpuForwardFactory;
  /** series skipped before the profile started (e.g. no GPU adapter), recorded in the results */
  skips?: SkipRecord[];
  /** the adapter's calibrated ceilings, recorded in the results */
  calibration?: Calibration | null;
  /** called after every finished point with the results so far (for incremental, atomic files) */
  onPointDone?: (results: ProfileResults) => Promise<void>;
  /** called after every length with the inputs and each series' output (for --dump-tensors) */
  onLengthDone?: (inputs: AttentionInputs, outputs: Map<SeriesName, Float32Array>) => Promise<void>;
}

function emptyPoint(seqLen: number, status: PointResult["status"], reason?: string): PointResult {
  return { seqLen, status, reason, wallMs: [] };
}

/** Interrupted mid-point: thrown between runs, caught by the length loop. */
class Interrupted extends Error {}

/**
 * Run the experiment described by `config`.
 *
 * The GPU series are created only when `hooks.gpu` is given. The CPU path also serves as the
 * reference of every GPU output, so it runs (untimed) even when `cpu` is not among the devices.
 */
export async function runProfile(
  config: ProfileConfig,
  hooks: ProfileHooks,
): Promise<ProfileResults> {
  const { progress, gpu } = hooks;
  const gpuForwards = hooks.gpuForwards ?? GpuAttention;
  const measureCpu = config.devices.includes("cpu");
  /** every GPU series: each variant at each storage precision */
  const gpuRuns = gpu === null
    ? []
    : config.variants.flatMap((variant) =>
      config.precisions.map((precision) => ({
        variant,
        precision,
        name: GPU_SERIES[precision][variant],
      }))
    );
  const series: SeriesResult[] = [];
  if (measureCpu) {
    series.push({
      name: "cpu",
      device: "cpu",
      label: `CPU (${navigator.hardwareConcurrency} workers, WebAssembly SIMD)`,
      points: [],
      localSlopes: [],
    });
  }
  for (const { variant, precision, name } of gpuRuns) {
    const software = gpu!.adapter.isSoftware ? ", software" : "";
    const storage = precision === "f16" ? " f16" : "";
    series.push({
      name,
      device: "gpu",
      variant,
      precision,
      label: `GPU ${variant}${storage} (${gpu!.adapter.description}${software})`,
      points: [],
      localSlopes: [],
    });
  }
  const results: ProfileResults = {
    schemaVersion: 1,
    tool: "self-attention-profiler",
    createdAt: new Date().toISOString(),
    config,
    environment: describeEnvironment(gpu?.adapter ?? null),
    flopsConvention: FLOPS_CONVENTION,
    flops: [],
    series,
    skips: [...hooks.skips ?? []],
    ...(hooks.calibration ? { calibration: hooks.calibration } : {}),
    ...(gpu?.kernelParameters && Object.keys(gpu.kernelParameters).length > 0
      ? { tunedKernelParameters: gpu.kernelParameters }
      : {}),
    interrupted: false,
  };
  const seriesByName = new Map(series.map((s) => [s.name, s]));
  /** a GPU series that met a device fault: its remaining points fail with this message */
  const faults = new Map<SeriesName, string>();
  let deviceLost: string | null = null;
  gpu?.lost.then((message) => deviceLost = message);

  const checkInterrupt = () => {
    if (hooks.interruption.aborted) throw new Interrupted();
  };

  /** record a finished point at once, so an interrupt or a crash never loses it */
  const addPoint = async (name: SeriesName, point: PointResult) => {
    const target = seriesByName.get(name);
    if (target === undefined) return; // the CPU reference of a GPU-only run is not a series
    target.points.push(point);
    finalizeSeries(target);
    await hooks.onPointDone?.({ ...results, interrupted: hooks.interruption.aborted });
  };

  const cpu = await CpuAttention.create();
  try {
    lengths: for (const seqLen of config.seqLens) {
      if (hooks.interruption.aborted) break;
      const shape: AttentionShape = { seqLen, dModel: config.dModel, heads: config.heads };
      results.flops.push(attentionFlops(shape));
      const inputs = generateInputs(shape, config.seed);
      const outputs = new Map<SeriesName, Float32Array>();
      try {
        // --- the CPU path: measured, and the reference of the GPU outputs ---
        const cpuFit = cpuPreflight(shape, hooks.availableMemoryBytes());
        let reference: Float32Array | null = null;
        if (!cpuFit.fits) {
          results.skips.push({ series: "cpu", seqLen, reason: cpuFit.reason });
          await addPoint("cpu", emptyPoint(seqLen, "skipped", cpuFit.reason));
        } else if (measureCpu) {
          progress.beginPoint("cpu", seqLen, config.warmup, config.runs);
          const point = await measureCpuPoint(cpu, inputs, config, progress, checkInterrupt);
          reference = point.out;
          progress.endPoint(describeOutcome(point.result));
          await addPoint("cpu", point.result);
        } else if (gpuRuns.length > 0) {
          cpu.load(inputs);
          reference = (await cpu.forward()).out;
        }
        if (reference !== null) outputs.set("cpu", reference);
        // --- each GPU variant, checked against the reference before it is timed ---
        for (const { variant, precision, name } of gpuRuns) {
          if (hooks.interruption.aborted) break lengths;
          if (deviceLost !== null && !faults.has(name)) {
            faults.set(name, `device lost: ${deviceLost}`);
          }
          const fault = faults.get(name);
          if (fault !== undefined) {
            await addPoint(name, emptyPoint(seqLen, "failed", fault));
            continue;
          }
          const fit = gpuForwards.preflight(gpu!, variant, shape, { precision });
          const skipReason = !fit.fits
            ? fit.reason
            : reference === null
            ? "no CPU reference to validate against (the CPU point was skipped)"
            : null;
          if (skipReason !== null) {
            results.skips.push({ series: name, seqLen, reason: skipReason });
            await addPoint(name, emptyPoint(seqLen, "skipped", skipReason));
            continue;
          }
          progress.beginPoint(name, seqLen, config.warmup, config.runs);
          let point;
          try {
            point = await measureGpuPoint(
              gpu!,
              gpuForwards,
              variant,
              precision,
              inputs,
              reference!,
              config,
              progress,
              checkInterrupt,
            );
          } catch (error) {
            if (error instanceof Interrupted) throw error;
            // a GPU fault (validation error, lost device, pipeline failure): this series stops
            const message = error instanceof Error ? error.message : String(error);
            faults.set(name, message);
            progress.endPoint(`failed: ${message}`);
            await addPoint(name, emptyPoint(seqLen, "failed", message));
            continue;
          }
          seriesByName.get(name)!.stageNames = point.stageNames;
          if (point.out !== null) outputs.set(name, point.out);
          progress.endPoint(describeOutcome(point.result));
          await addPoint(name, point.result);
        }
      } catch (error) {
        if (!(error instanceof Interrupted)) throw error;
        progress.warn(
          `interrupted at n=${seqLen}: the point in progress is dropped, the finished ones kept`,
        );
        break;
      }
      await hooks.onLengthDone?.(inputs, outputs);
    }
  } finally {
    cpu.close();
  }
  results.interrupted = hooks.interruption.aborted;
  series.forEach(finalizeSeries);
  return results;
}

function describeOutcome(point: PointResult): string {
  if (point.status !== "ok") return `${point.status}: ${point.reason}`;
  const summary = summarize(point.wallMs);
  const error = point.validation
    ? ` · rel L2 error ${point.validation.relL2Error.toExponential(1)}`
    : "";
  return `${summary.mean.toFixed(2)} ± ${summary.sem.toFixed(2)} ms${error}`;
}

async function measureCpuPoint(
  cpu: CpuAttention,
  inputs: AttentionInputs,
  config: ProfileConfig,
  progress: ProgressReporter,
  checkInterrupt: () => void,
): Promise<{ result: PointResult; out: Float32Array }> {
  const shape = inputs.shape;
  // sampled from before the inputs are loaded, so the growth covers every buffer of the point
  const sampler = new RssSampler(RSS_SAMPLE_INTERVAL_MS);
  let rssPeakAboveBaselineBytes;
  const wallMs: number[] = [];
  let last = null;
  try {
    cpu.load(inputs);
    for (let i = 0; i < config.warmup; i++) {
      checkInterrupt();
      await cpu.forward();
    }
    for (let run = 1; run <= config.runs; run++) {
      checkInterrupt();
      const startMs = performance.now();
      last = await cpu.forward();
      wallMs.push(performance.now() - startMs);
      progress.runDone(run);
    }
  } finally {
    rssPeakAboveBaselineBytes = sampler.stop();
  }
  const result: PointResult = {
    seqLen: shape.seqLen,
    status: "ok",
    wallMs,
    memory: {
      peakBytes: last!.memory.peakBytes,
      peakBytesByClass: last!.memory.peakBytesByClass,
      rssPeakAboveBaselineBytes,
      theoreticalBytes: theoreticalMemory(shape, CPU_SCORE_HEADS_LIVE).totalBytes,
    },
  };
  return { result, out: last!.out };
}

async function measureGpuPoint(
  gpu: GpuContext,
  gpuForwards: GpuForwardFactory,
  variant: VariantName,
  precision: PrecisionName,
  inputs: AttentionInputs,
  reference: Float32Array,
  config: ProfileConfig,
  progress: ProgressReporter,
  checkInterrupt: () => void,
): Promise<{ result: PointResult; out: Float32Array | null; stageNames: string[] }> {
  const shape = inputs.shape;
  const attention = await gpuForwards.create(gpu, variant, shape, { precision });
  const stageNames = attention.stageNames;
  const tolerance = GPU_TOLERANCES[precision];
  try {
    const uploadMs = await attention.upload(inputs);
    // at least one untimed forward: the output is checked before anything is timed
    for (let i = 0; i < Math.max(1, config.warmup); i++) {
      checkInterrupt();
      await attention.forward();
    }
    const first = await attention.readback();
    const validation = compareOutputs(first.out, reference, tolerance);
    if (!validation.passed) {
      const reason = `output does not match the CPU path: relative L2 error ` +
        `${validation.relL2Error.toExponential(2)} > ${tolerance} ` +
        `(max abs error ${validation.maxAbsError.toExponential(2)}); not timed`;
      const result = { ...emptyPoint(shape.seqLen, "failed", reason), validation };
      return { result, out: first.out, stageNames };
    }
    const submitOverheadMs = await measureSubmitOverheadMs(gpu.device, SUBMIT_OVERHEAD_SAMPLES);
    const wallMs: number[] = [];
    const kernelMs: number[][] = [];
    const kernelStartMs: number[][] = [];
    for (let run = 1; run <= config.runs; run++) {
      checkInterrupt();
      const timing = await attention.forward();
      wallMs.push(timing.wallMs);
      if (timing.stageMs !== null) kernelMs.push(timing.stageMs);
      if (timing.stageStartMs) kernelStartMs.push(timing.stageStartMs);
      progress.runDone(run);
    }
    // the last timed output is checked too, and its readback timed apart from the forward
    const last = await attention.readback();
    const lastValidation = compareOutputs(last.out, reference, tolerance);
    // a failed check wins (NaN errors compare false), then the larger error
    const worst = !lastValidation.passed || lastValidation.relL2Error > validation.relL2Error
      ? lastValidation
      : validation;
    if (!worst.passed) {
      // no time is reported for an output that does not match
      const reason = "the output of the timed runs does not match the CPU path: relative L2 " +
        `error ${worst.relL2Error.toExponential(2)}; its times are discarded`;
      const result = { ...emptyPoint(shape.seqLen, "failed", reason), validation: worst };
      return { result, out: last.out, stageNames };
    }
    const memory = attention.memory();
    const result: PointResult = {
      seqLen: shape.seqLen,
      status: "ok",
      wallMs,
      kernelMs: kernelMs.length === wallMs.length ? kernelMs : undefined,
      kernelSumMs: kernelMs.length === wallMs.length
        ? kernelMs.map((stages) => stages.reduce((a, b) => a + b, 0))
        : undefined,
      kernelStartMs: kernelStartMs.length === wallMs.length ? kernelStartMs : undefined,
      submitOverheadMs,
      kernelTiming: gpu.hasTimestamps ? "timestamp-query" : "none",
      uploadMs,
      readbackMs: last.readbackMs,
      memory: {
        ...memory,
        theoreticalBytes: theoreticalMemory(
          shape,
          variant === "naive" ? shape.heads : 0,
          PRECISION_BYTES[precision],
        ).totalBytes,
      },
      validation: worst,
    };
    return { result, out: last.out, stageNames };
  } finally {
    attention.destroy();
  }
}
