/**
 * One point of one series: its warm-up, its timed runs, its memory — and, for a GPU series, its
 * check against the CPU path before anything is timed and again after. The profile
 * (src/profile.ts) decides which points run; this module runs one.
 *
 * @module
 */

import type { ProfileConfig } from "./config.ts";
import type { GpuContext } from "./gpu/device.ts";
import type { GpuAttention, Preflight } from "./gpu/gpu_attention.ts";
import { PRECISION_BYTES } from "./gpu/kernels.ts";
import { measureSubmitOverheadMs } from "./gpu/submit_overhead.ts";
import { compareOutputs, GPU_TOLERANCES } from "./gpu/validation.ts";
import { RssSampler, scoreMatrixElements, theoreticalMemory } from "./memory.ts";
import type { ProgressReporter } from "./progress.ts";
import type { CpuAttention } from "./reference/cpu_attention.ts";
import type { PointResult } from "./results.ts";
import { type AttentionInputs, type AttentionShape, resolveShape } from "./shape.ts";
import { type PrecisionName, type VariantName, VARIANTS } from "./variants/registry.ts";

/** Interval of the RSS sampler during a CPU point: often enough to see the peak, cheap. */
const RSS_SAMPLE_INTERVAL_MS = 10;

/** Empty submissions timed before each GPU point's runs. */
const SUBMIT_OVERHEAD_SAMPLES = 5;

/** One GPU forward as the profile uses it (GpuAttention; a stand-in in tests). */
export type GpuForward = Pick<
  GpuAttention,
  "stageNames" | "upload" | "forward" | "readback" | "memory" | "destroy"
>;

/** How the profile builds GPU forwards: GpuAttention by default, a stand-in in tests. */
export interface GpuForwardFactory {
  /** whether a variant fits this adapter and shape, and why not */
  preflight(
    gpu: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options?: { precision?: PrecisionName },
  ): Preflight;
  /** build a forward with its buffers */
  create(
    gpu: GpuContext,
    variant: VariantName,
    shape: AttentionShape,
    options?: { precision?: PrecisionName },
  ): Promise<GpuForward>;
}

/** What every point measurement needs besides its own inputs. */
export interface PointContext {
  config: ProfileConfig;
  progress: ProgressReporter;
  /** throws (the profile's Interrupted) once an interrupt was asked for */
  checkInterrupt: () => void;
}

/** A point that did not run (skipped before, or failed while running), with why. */
export function emptyPoint(
  seqLen: number,
  status: PointResult["status"],
  reason?: string,
): PointResult {
  return { seqLen, status, reason, wallMs: [] };
}

/** The CPU path at one length: timed runs, exact typed-array peak and sampled RSS. */
export async function measureCpuPoint(
  cpu: CpuAttention,
  inputs: AttentionInputs,
  context: PointContext,
): Promise<{ result: PointResult; out: Float32Array }> {
  const { config, progress, checkInterrupt } = context;
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
      progress.warmupDone(i + 1);
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
      // the CPU path holds one head's scores at a time
      theoreticalBytes: theoreticalMemory(shape, scoreMatrixElements(shape)).totalBytes,
    },
  };
  return { result, out: last!.out };
}

/** What one GPU point runs. */
export interface GpuPointRequest {
  gpu: GpuContext;
  gpuForwards: GpuForwardFactory;
  variant: VariantName;
  precision: PrecisionName;
  inputs: AttentionInputs;
  /** the CPU path's output on the same inputs */
  reference: Float32Array;
}

/** A GPU point's outcome, its last output and the stages it timed. */
export interface GpuPointOutcome {
  result: PointResult;
  out: Float32Array | null;
  stageNames: string[];
}

/**
 * A GPU variant at one length: checked against the CPU path before it is timed, timed, checked
 * again after; a point whose output does not match keeps its errors but no time.
 */
export async function measureGpuPoint(
  request: GpuPointRequest,
  context: PointContext,
): Promise<GpuPointOutcome> {
  const { gpu, variant, precision, inputs, reference } = request;
  const attention = await request.gpuForwards.create(gpu, variant, inputs.shape, { precision });
  const stageNames = attention.stageNames;
  const tolerance = GPU_TOLERANCES[precision];
  const seqLen = inputs.shape.seqLen;
  try {
    const uploadMs = await attention.upload(inputs);
    // at least one untimed forward: the output is checked before anything is timed
    for (let i = 0; i < Math.max(1, context.config.warmup); i++) {
      context.checkInterrupt();
      await attention.forward();
      context.progress.warmupDone(i + 1);
    }
    const first = await attention.readback();
    const validation = compareOutputs(first.out, reference, tolerance);
    if (!validation.passed) {
      const reason = `output does not match the CPU path: relative L2 error ` +
        `${validation.relL2Error.toExponential(2)} > ${tolerance} ` +
        `(max abs error ${validation.maxAbsError.toExponential(2)}); not timed`;
      const result = { ...emptyPoint(seqLen, "failed", reason), validation };
      return { result, out: first.out, stageNames };
    }
    const submitOverheadMs = await measureSubmitOverheadMs(gpu.device, SUBMIT_OVERHEAD_SAMPLES);
    const { wallMs, kernelMs, kernelStartMs } = await _timedGpuRuns(attention, context);
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
      const result = { ...emptyPoint(seqLen, "failed", reason), validation: worst };
      return { result, out: last.out, stageNames };
    }
    const complete = kernelMs.length === wallMs.length;
    const resolved = resolveShape(inputs.shape);
    const result: PointResult = {
      seqLen,
      status: "ok",
      wallMs,
      kernelMs: complete ? kernelMs : undefined,
      kernelStartMs: kernelStartMs.length === wallMs.length ? kernelStartMs : undefined,
      kernelSumMs: complete
        ? kernelMs.map((stages) => stages.reduce((a, b) => a + b, 0))
        : undefined,
      submitOverheadMs,
      kernelTiming: gpu.hasTimestamps ? "timestamp-query" : "none",
      uploadMs,
      readbackMs: last.readbackMs,
      memory: {
        ...attention.memory(),
        theoreticalBytes: theoreticalMemory(
          inputs.shape,
          VARIANTS[variant].storedScores(resolved),
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

async function _timedGpuRuns(
  attention: GpuForward,
  context: PointContext,
): Promise<{ wallMs: number[]; kernelMs: number[][]; kernelStartMs: number[][] }> {
  const wallMs: number[] = [];
  const kernelMs: number[][] = [];
  const kernelStartMs: number[][] = [];
  for (let run = 1; run <= context.config.runs; run++) {
    context.checkInterrupt();
    const timing = await attention.forward();
    wallMs.push(timing.wallMs);
    if (timing.stageMs !== null) kernelMs.push(timing.stageMs);
    if (timing.stageStartMs) kernelStartMs.push(timing.stageStartMs);
    context.progress.runDone(run);
  }
  return { wallMs, kernelMs, kernelStartMs };
}
