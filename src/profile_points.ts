/**
 * One point of one series: its warm-up, its timed runs, its memory — and, for a GPU series, its
 * check against the CPU path before anything is timed and again after. The profile
 * (src/profile.ts) decides which points run; this module runs one.
 *
 * @module
 */

import type { ProfileConfig } from "./config.ts";
import type { GpuContext } from "./gpu/device.ts";
import { GpuAttention, type Preflight } from "./gpu/gpu_attention.ts";
import { GpuBackward } from "./gpu/gpu_backward.ts";
import { compareGradients } from "./gpu/gradient_validation.ts";
import { PRECISION_BYTES } from "./gpu/kernels.ts";
import { measureSubmitOverheadMs } from "./gpu/submit_overhead.ts";
import { compareOutputs, GPU_TOLERANCES } from "./gpu/validation.ts";
import {
  RssSampler,
  scoreMatrixElements,
  theoreticalBackwardBytes,
  theoreticalMemory,
} from "./memory.ts";
import type { AttentionGradients } from "./gradients.ts";
import type { ProgressReporter } from "./progress.ts";
import type { CpuAttention } from "./reference/cpu_attention.ts";
import type { PointResult, ValidationResult } from "./results.ts";
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

/**
 * The least time a point's warm-up takes (unless `--warmup 0`), as criterion warms up for a time:
 * a count of runs warms a long point but not a short one. At n = 10 the seed's 3 warm-up runs take
 * ~5 ms, and a short point's first timed runs were often still slower than its later ones (likely
 * JIT tier-up, and workers and lavapipe's threads waking from idle). What differs between whole
 * processes it does not remove: `deno task compare` pools repeated profiles for that.
 */
export const MIN_WARMUP_MS = 250;

/**
 * A point's untimed runs: `config.warmup` of them (at least `atLeast`), and more while they have
 * taken under {@link MIN_WARMUP_MS} unless the warm-up is 0.
 */
async function warmUp(
  run: () => Promise<unknown>,
  context: PointContext,
  atLeast = 0,
): Promise<void> {
  const { config, progress, checkInterrupt } = context;
  const count = Math.max(atLeast, config.warmup), startMs = performance.now();
  const warm = (done: number) =>
    done >= count && (config.warmup === 0 || performance.now() - startMs >= MIN_WARMUP_MS);
  for (let done = 0; !warm(done); done++) {
    checkInterrupt();
    await run();
    progress.warmupDone(done + 1);
  }
}

/** `run`'s value, when it began (performance.now()) and how many ms it took. */
async function timed<T>(run: () => Promise<T>): Promise<{ value: T; startMs: number; ms: number }> {
  const startMs = performance.now();
  const value = await run();
  return { value, startMs, ms: performance.now() - startMs };
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
  const wallMs: number[] = [], runStartMs: number[] = [];
  let last = null;
  try {
    cpu.load(inputs);
    await warmUp(() => cpu.forward(), context);
    for (let run = 1; run <= config.runs; run++) {
      checkInterrupt();
      const forward = await timed(() => cpu.forward());
      last = forward.value;
      wallMs.push(forward.ms);
      runStartMs.push(forward.startMs);
      progress.runDone(run);
    }
  } finally {
    rssPeakAboveBaselineBytes = sampler.stop();
  }
  const result: PointResult = {
    seqLen: shape.seqLen,
    status: "ok",
    wallMs,
    runStartMs,
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

/**
 * The CPU path's backward at one length: each timed run is a forward (timed apart, as
 * `forwardWallMs`) then the backward of L = Σ(out ⊙ dOut) (timed as `wallMs`); exact typed-array
 * peak of the backward, the forward's buffers included, and sampled RSS.
 */
export async function measureCpuBackwardPoint(
  cpu: CpuAttention,
  inputs: AttentionInputs,
  dOut: Float32Array,
  context: PointContext,
): Promise<{ result: PointResult; out: Float32Array; gradients: AttentionGradients }> {
  const { config, progress, checkInterrupt } = context;
  const sampler = new RssSampler(RSS_SAMPLE_INTERVAL_MS);
  let rssPeakAboveBaselineBytes;
  const wallMs: number[] = [], forwardWallMs: number[] = [], runStartMs: number[] = [];
  let out = null, last = null;
  try {
    cpu.load(inputs, { backward: true });
    await warmUp(async () => {
      await cpu.forward();
      await cpu.backward(dOut);
    }, context);
    for (let run = 1; run <= config.runs; run++) {
      checkInterrupt();
      const forward = await timed(() => cpu.forward());
      out = forward.value.out;
      forwardWallMs.push(forward.ms);
      const backward = await timed(() => cpu.backward(dOut));
      last = backward.value;
      wallMs.push(backward.ms);
      runStartMs.push(backward.startMs);
      progress.runDone(run);
    }
  } finally {
    rssPeakAboveBaselineBytes = sampler.stop();
  }
  const result: PointResult = {
    seqLen: inputs.shape.seqLen,
    status: "ok",
    wallMs,
    forwardWallMs,
    runStartMs,
    memory: {
      peakBytes: last!.memory.peakBytes,
      peakBytesByClass: last!.memory.peakBytesByClass,
      rssPeakAboveBaselineBytes,
      theoreticalBytes: theoreticalBackwardBytes(
        inputs.shape,
        2 * cpuBackwardScores(inputs.shape),
        4,
      ),
    },
  };
  return { result, out: out!, gradients: last!.gradients };
}

/** Score elements the CPU backward holds: P (and as many dS) of one kv head's query heads. */
function cpuBackwardScores(shape: AttentionShape): number {
  const s = resolveShape(shape);
  return (s.heads / s.kvHeads) * s.seqLen * s.seqLen;
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

/** A GPU point's outcome, its last output (and a backward's gradients) and the stages it timed. */
export interface GpuPointOutcome {
  result: PointResult;
  out: Float32Array | null;
  gradients?: AttentionGradients;
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
    const uploadStartMs = performance.now();
    const uploadMs = await attention.upload(inputs);
    // at least one untimed forward: the output is checked before anything is timed
    await warmUp(() => attention.forward(), context, 1);
    const first = await attention.readback();
    const validation = compareOutputs(first.out, reference, tolerance);
    if (!validation.passed) {
      const reason = `output does not match the CPU path: relative L2 error ` +
        `${validation.relL2Error.toExponential(2)} > ${tolerance} ` +
        `(max abs error ${validation.maxAbsError.toExponential(2)}); not timed`;
      const result = { ...emptyPoint(seqLen, "failed", reason), validation };
      return { result, out: first.out, stageNames };
    }
    const submitOverheadStartMs = performance.now();
    const submitOverheadMs = await measureSubmitOverheadMs(gpu.device, SUBMIT_OVERHEAD_SAMPLES);
    const { wallMs, kernelMs, kernelStartMs, runStartMs } = await _timedGpuRuns(attention, context);
    // the last timed output is checked too, and its readback timed apart from the forward
    const readbackStartMs = performance.now();
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
    const resolved = resolveShape(inputs.shape);
    const result: PointResult = {
      seqLen,
      status: "ok",
      wallMs,
      ..._kernelTimes(kernelMs, wallMs.length),
      kernelStartMs: kernelStartMs.length === wallMs.length ? kernelStartMs : undefined,
      submitOverheadMs,
      kernelTiming: gpu.hasTimestamps ? "timestamp-query" : "none",
      uploadMs,
      readbackMs: last.readbackMs,
      runStartMs,
      uploadStartMs,
      submitOverheadStartMs,
      readbackStartMs,
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

/** What one GPU backward point runs. */
export interface GpuBackwardPointRequest {
  gpu: GpuContext;
  variant: VariantName;
  precision: PrecisionName;
  inputs: AttentionInputs;
  dOut: Float32Array;
  /** the CPU path's gradients on the same inputs */
  reference: AttentionGradients;
}

/**
 * A GPU variant's backward at one length: its forward (GpuAttention) and its backward
 * (GpuBackward, bound to the forward's buffers); every gradient checked against the CPU path
 * before anything is timed and after; each timed run is a forward (`forwardWallMs`) then the
 * backward (`wallMs`, per-stage `kernelMs`). Memory: the forward's buffers and the backward's.
 */
export async function measureGpuBackwardPoint(
  request: GpuBackwardPointRequest,
  context: PointContext,
): Promise<GpuPointOutcome> {
  const { gpu, variant, precision, inputs, dOut, reference } = request;
  const seqLen = inputs.shape.seqLen;
  const forward = await GpuAttention.create(gpu, variant, inputs.shape, { precision });
  let backward: GpuBackward | undefined;
  try {
    backward = await GpuBackward.create(gpu, variant, inputs.shape, {
      precision,
      forward: forward.keptBuffers(),
    });
    const stageNames = [...VARIANTS[variant].backwardStages!];
    const uploadStartMs = performance.now();
    const uploadMs = await forward.upload(inputs);
    await backward.upload(inputs, dOut);
    const created = backward;
    await warmUp(
      async () => {
        await forward.forward();
        await created.backward();
      },
      context,
      1,
    );
    const tolerance = GPU_TOLERANCES[precision];
    let gradients = await backward.readGradients();
    const first = _worstGradient(gradients, reference, tolerance);
    if (!first.passed) {
      const reason = `gradients do not match the CPU path: relative L2 error ` +
        `${first.relL2Error.toExponential(2)} > ${tolerance}; not timed`;
      return _failedBackward(seqLen, reason, first, stageNames);
    }
    const { wallMs, forwardWallMs, kernelMs, runStartMs } = await _timedBackwardRuns(
      forward,
      backward,
      context,
    );
    gradients = await backward.readGradients();
    const last = _worstGradient(gradients, reference, tolerance);
    const worst = !last.passed || last.relL2Error > first.relL2Error ? last : first;
    if (!worst.passed) {
      const reason = "the gradients of the timed runs do not match the CPU path: relative L2 " +
        `error ${worst.relL2Error.toExponential(2)}; its times are discarded`;
      return _failedBackward(seqLen, reason, worst, stageNames);
    }
    const readbackStartMs = performance.now();
    const { out, readbackMs } = await forward.readback();
    const result: PointResult = {
      seqLen,
      status: "ok",
      wallMs,
      forwardWallMs,
      runStartMs,
      uploadStartMs,
      readbackStartMs,
      ..._kernelTimes(kernelMs, wallMs.length),
      kernelTiming: gpu.hasTimestamps ? "timestamp-query" : "none",
      uploadMs,
      readbackMs,
      memory: {
        ..._sumMemory(forward.memory(), backward.memory()),
        // the naive backward keeps its forward's P and adds dS of the same size; the fused none
        theoreticalBytes: theoreticalBackwardBytes(
          inputs.shape,
          2 * VARIANTS[variant].storedScores(resolveShape(inputs.shape)),
          PRECISION_BYTES[precision],
        ),
      },
      validation: worst,
    };
    return { result, out, gradients, stageNames };
  } finally {
    backward?.destroy();
    forward.destroy();
  }
}

/** A backward point that failed its check: its errors, no time. */
function _failedBackward(
  seqLen: number,
  reason: string,
  validation: ValidationResult,
  stageNames: string[],
): GpuPointOutcome {
  return { result: { ...emptyPoint(seqLen, "failed", reason), validation }, out: null, stageNames };
}

/** Per-run stage times and their sums, when every run has them (else neither). */
function _kernelTimes(
  kernelMs: number[][],
  runs: number,
): Pick<PointResult, "kernelMs" | "kernelSumMs"> {
  if (kernelMs.length !== runs) return {};
  return { kernelMs, kernelSumMs: kernelMs.map((stages) => stages.reduce((a, b) => a + b, 0)) };
}

/** Every gradient compared; the worst result (a failed one first, then the largest error). */
function _worstGradient(
  got: AttentionGradients,
  want: AttentionGradients,
  tolerance: number,
): ValidationResult {
  const results = Object.values(compareGradients(got, want, tolerance));
  return results.reduce((worst, r) =>
    (!r.passed && worst.passed) ||
      (r.passed === worst.passed && !(r.relL2Error <= worst.relL2Error))
      ? r
      : worst
  );
}

/** Two trackers' peaks live at once (the forward's buffers stay live through the backward). */
function _sumMemory(
  a: { peakBytes: number; peakBytesByClass: Record<string, number> },
  b: { peakBytes: number; peakBytesByClass: Record<string, number> },
): { peakBytes: number; peakBytesByClass: Record<string, number> } {
  const byClass = { ...a.peakBytesByClass };
  for (const [name, bytes] of Object.entries(b.peakBytesByClass)) {
    byClass[name] = (byClass[name] ?? 0) + bytes;
  }
  return { peakBytes: a.peakBytes + b.peakBytes, peakBytesByClass: byClass };
}

/** A backward point's timed runs: each a forward (timed apart) then the backward. */
async function _timedBackwardRuns(
  forward: GpuAttention,
  backward: GpuBackward,
  context: PointContext,
) {
  const wallMs: number[] = [], forwardWallMs: number[] = [], kernelMs: number[][] = [];
  const runStartMs: number[] = [];
  for (let run = 1; run <= context.config.runs; run++) {
    context.checkInterrupt();
    forwardWallMs.push((await forward.forward()).wallMs);
    const timing = await backward.backward();
    wallMs.push(timing.wallMs);
    runStartMs.push(timing.startMs);
    if (timing.stageMs !== null) kernelMs.push(timing.stageMs);
    context.progress.runDone(run);
  }
  return { wallMs, forwardWallMs, kernelMs, runStartMs };
}

async function _timedGpuRuns(
  attention: GpuForward,
  context: PointContext,
): Promise<
  { wallMs: number[]; kernelMs: number[][]; kernelStartMs: number[][]; runStartMs: number[] }
> {
  const wallMs: number[] = [], runStartMs: number[] = [];
  const kernelMs: number[][] = [];
  const kernelStartMs: number[][] = [];
  for (let run = 1; run <= context.config.runs; run++) {
    context.checkInterrupt();
    const calledMs = performance.now();
    const timing = await attention.forward();
    wallMs.push(timing.wallMs);
    runStartMs.push(timing.startMs ?? calledMs);
    if (timing.stageMs !== null) kernelMs.push(timing.stageMs);
    if (timing.stageStartMs) kernelStartMs.push(timing.stageStartMs);
    context.progress.runDone(run);
  }
  return { wallMs, kernelMs, kernelStartMs, runStartMs };
}
