/**
 * The experiment: for each sequence length and each configuration of the grid, run the CPU path
 * and each GPU variant on the same seeded inputs, check every GPU output against the CPU path
 * before timing it, and collect raw samples into the results object. Knows nothing of files or
 * figures: the caller gets callbacks.
 *
 * @module
 */

import type { ProfileConfig } from "./config.ts";
import { type Configuration, expandGrid, type PassName, shapeOf } from "./configuration.ts";
import { describeEnvironment } from "./environment.ts";
import { attentionFlops, FLOPS_CONVENTION } from "./flops.ts";
import type { GpuContext } from "./gpu/device.ts";
import { GpuAttention } from "./gpu/gpu_attention.ts";
import { backwardUnsupported, preflightBackward } from "./gpu/gpu_backward.ts";
import { cpuPreflight, cpuUnsupported } from "./preflight.ts";
import {
  emptyPoint,
  type GpuForwardFactory,
  type GpuPointOutcome,
  measureCpuBackwardPoint,
  measureCpuPoint,
  measureGpuBackwardPoint,
  measureGpuPoint,
  type PointContext,
} from "./profile_points.ts";
import { type PlannedSeries, planSeries } from "./profile_series.ts";
import type { ProgressReporter } from "./progress.ts";
import { generateInputs, generateUpstreamGradient } from "./random.ts";
import { CpuAttention } from "./reference/cpu_attention.ts";
import type {
  Calibration,
  PointResult,
  ProfileResults,
  SeriesName,
  SkipRecord,
} from "./results.ts";
import { type AttentionInputs, type AttentionShape, resolveShape } from "./shape.ts";
import { summarize } from "./stats.ts";
import { WORK_STAGES } from "./variants/registry.ts";
import { finalizeSeries } from "./summaries.ts";
import { BACKWARD_STAGES } from "./variants/stages.ts";
import { VARIANTS } from "./variants/registry.ts";
import type { AttentionGradients } from "./gradients.ts";

export type { GpuForward, GpuForwardFactory } from "./profile_points.ts";

/** What the profile needs from its caller. */
export interface ProfileHooks {
  /** where progress and warnings go */
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
  /** called after every (length, configuration) with its inputs and each series' output
   * (for --dump-tensors) */
  onLengthDone?: (done: LengthDone) => Promise<void>;
}

/** One configuration at one length, finished. */
export interface LengthDone {
  /** the configuration that ran */
  configuration: Configuration;
  /** whether the run holds several configurations (then files name the configuration) */
  severalConfigurations: boolean;
  /** the inputs and weights of that length */
  inputs: AttentionInputs;
  /** each series' output, by the series' implementation name (`cpu`, `gpu_fused`, …) */
  outputs: Map<string, Float32Array>;
  /** a `backward` configuration: the upstream gradient, and each series' gradients by name */
  backward?: { dOut: Float32Array; gradients: Map<string, AttentionGradients> };
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
  const { configurations, impossible } = expandGrid(config.grid);
  const planned = configurations.map((configuration) =>
    planSeries(configuration, config, hooks.gpu, configurations.length > 1)
  );
  const results = _emptyResults(config, hooks, configurations, planned.flat());
  for (const cell of impossible) {
    results.skips.push({
      series: "configuration",
      configuration: cell.description,
      reason: cell.reason,
    });
  }
  const run = new ProfileRun(config, hooks, results);
  const cpu = await CpuAttention.create();
  try {
    lengths: for (const seqLen of config.seqLens) {
      for (const [index, configuration] of configurations.entries()) {
        if (hooks.interruption.aborted) break lengths;
        try {
          await run.configurationAt(cpu, configuration, planned[index]!, seqLen);
        } catch (error) {
          if (!(error instanceof Interrupted)) throw error;
          hooks.progress.warn(
            `interrupted at n=${seqLen}: the point in progress is dropped, the finished ones kept`,
          );
          break lengths;
        }
      }
    }
  } finally {
    cpu.close();
  }
  results.interrupted = hooks.interruption.aborted;
  results.series.forEach(finalizeSeries);
  return results;
}

function _emptyResults(
  config: ProfileConfig,
  hooks: ProfileHooks,
  configurations: Configuration[],
  planned: PlannedSeries[],
): ProfileResults {
  const gpu = hooks.gpu;
  return {
    schemaVersion: 2,
    tool: "self-attention-profiler",
    createdAt: new Date().toISOString(),
    config,
    configurations,
    environment: describeEnvironment(gpu?.adapter ?? null),
    flopsConvention: FLOPS_CONVENTION,
    flops: [],
    series: planned.map((plan) => plan.series),
    skips: [...hooks.skips ?? []],
    ...(hooks.calibration ? { calibration: hooks.calibration } : {}),
    ...(gpu?.kernelParameters && Object.keys(gpu.kernelParameters).length > 0
      ? { tunedKernelParameters: gpu.kernelParameters }
      : {}),
    interrupted: false,
  };
}

/** The state of one profile while it runs: its results, its faults, the lost device. */
class ProfileRun {
  readonly #config: ProfileConfig;
  readonly #hooks: ProfileHooks;
  readonly #results: ProfileResults;
  readonly #gpuForwards: GpuForwardFactory;
  readonly #context: PointContext;
  /** a GPU series that met a device fault: its remaining points fail with this message */
  readonly #faults = new Map<SeriesName, string>();
  #deviceLost: string | null = null;

  constructor(config: ProfileConfig, hooks: ProfileHooks, results: ProfileResults) {
    this.#config = config;
    this.#hooks = hooks;
    this.#results = results;
    this.#gpuForwards = hooks.gpuForwards ?? GpuAttention;
    this.#context = {
      config,
      progress: hooks.progress,
      checkInterrupt: () => {
        if (hooks.interruption.aborted) throw new Interrupted();
      },
    };
    hooks.gpu?.lost.then((message) => this.#deviceLost = message);
  }

  /** Every series of one configuration at one length: the CPU path first (the reference). */
  async configurationAt(
    cpu: CpuAttention,
    configuration: Configuration,
    planned: PlannedSeries[],
    seqLen: number,
  ): Promise<void> {
    if (configuration.pass === "backward") {
      await this.#backwardAt(cpu, configuration, planned, seqLen);
      return;
    }
    const shape = shapeOf(configuration, seqLen);
    const work = attentionFlops(shape, WORK_STAGES[configuration.attention]);
    this.#results.flops.push({ ...work, configurationId: configuration.id });
    const inputs = generateInputs(shape, this.#config.seed);
    const outputs = new Map<string, Float32Array>();
    const cpuSeries = planned.find((plan) => plan.implementation.device === "cpu");
    const gpuSeries = planned.filter((plan) => plan.implementation.device === "gpu");
    const reference = await this.#cpuReference(cpu, inputs, cpuSeries, gpuSeries.length > 0);
    if (reference !== null) outputs.set("cpu", reference);
    for (const plan of gpuSeries) {
      if (this.#hooks.interruption.aborted) throw new Interrupted();
      const out = await this.#gpuPoint(plan, inputs, reference);
      if (out !== null) outputs.set(plan.implementationName, out);
    }
    await this.#hooks.onLengthDone?.({
      configuration,
      severalConfigurations: (this.#results.configurations?.length ?? 1) > 1,
      inputs,
      outputs,
    });
  }

  /**
   * A `backward` configuration at one length: the CPU path's backward (measured when the CPU is
   * a series: the reference), then each GPU variant's. Its FLOPs table holds the backward's
   * stages.
   */
  async #backwardAt(
    cpu: CpuAttention,
    configuration: Configuration,
    planned: PlannedSeries[],
    seqLen: number,
  ): Promise<void> {
    const shape = shapeOf(configuration, seqLen);
    // totals: the backward's least work, the naive variant's stages (no recomputation: a series'
    // GFLOP/s counts useful work); per stage: every backward stage, exact (the fused one's
    // recomputation included)
    const least = attentionFlops(shape, VARIANTS.naive.backwardStages);
    const everyStage = attentionFlops(shape, BACKWARD_STAGES.map((stage) => stage.name));
    this.#results.flops.push({
      ...least,
      macsByStage: everyStage.macsByStage,
      flopsByStage: everyStage.flopsByStage,
      configurationId: configuration.id,
    });
    const inputs = generateInputs(shape, this.#config.seed);
    const dOut = generateUpstreamGradient(shape, this.#config.seed);
    const cpuSeries = planned.find((plan) => plan.implementation.device === "cpu");
    const gpuSeries = planned.filter((plan) => plan.implementation.device === "gpu");
    const outputs = new Map<string, Float32Array>();
    const gradients = new Map<string, AttentionGradients>();
    const reference = await this.#cpuBackwardReference(cpu, inputs, dOut, cpuSeries, gpuSeries);
    if (reference !== null) {
      outputs.set("cpu", reference.out);
      gradients.set("cpu", reference.gradients);
    }
    for (const plan of gpuSeries) {
      if (this.#hooks.interruption.aborted) throw new Interrupted();
      const done = await this.#gpuBackwardPoint(plan, inputs, dOut, reference?.gradients ?? null);
      if (done === null) continue;
      outputs.set(plan.implementationName, done.out);
      gradients.set(plan.implementationName, done.gradients);
    }
    await this.#hooks.onLengthDone?.({
      configuration,
      severalConfigurations: (this.#results.configurations?.length ?? 1) > 1,
      inputs,
      outputs,
      backward: { dOut, gradients },
    });
  }

  /**
   * The CPU path's backward: measured when the CPU is a series, else run untimed when a GPU
   * series needs its gradients; its forward output and gradients, or null.
   */
  async #cpuBackwardReference(
    cpu: CpuAttention,
    inputs: AttentionInputs,
    dOut: Float32Array,
    series: PlannedSeries | undefined,
    gpuSeries: PlannedSeries[],
  ): Promise<{ out: Float32Array; gradients: AttentionGradients } | null> {
    if (!await this.#cpuFits(series, inputs.shape, "backward")) return null;
    if (series) {
      const { name } = series.series, { warmup, runs } = this.#config;
      this.#hooks.progress.beginPoint(name, inputs.shape.seqLen, warmup, runs);
      const point = await measureCpuBackwardPoint(cpu, inputs, dOut, this.#context);
      this.#hooks.progress.endPoint(_describeOutcome(point.result));
      await this.#addPoint(series, point.result);
      return point;
    }
    if (gpuSeries.length === 0) return null;
    cpu.load(inputs, { backward: true });
    const { out } = await cpu.forward();
    return { out, gradients: (await cpu.backward(dOut)).gradients };
  }

  /** One GPU series' backward at one length; its forward output and gradients, or null. */
  async #gpuBackwardPoint(
    plan: PlannedSeries,
    inputs: AttentionInputs,
    dOut: Float32Array,
    reference: AttentionGradients | null,
  ): Promise<{ out: Float32Array; gradients: AttentionGradients } | null> {
    if (plan.implementation.device !== "gpu" || await this.#faulted(plan, inputs.shape)) {
      return null;
    }
    const { variant, precision } = plan.implementation;
    const gpu = this.#hooks.gpu!;
    const unsupported = plan.unsupported ?? backwardUnsupported(variant, inputs.shape);
    const fit = unsupported !== null
      ? { fits: false as const, reason: unsupported }
      : preflightBackward(gpu, variant, inputs.shape, { precision });
    if (!await this.#gpuRuns(plan, inputs.shape, fit, reference !== null)) return null;
    const outcome = await this.#measureGpu(plan, inputs.shape, () =>
      measureGpuBackwardPoint(
        { gpu, variant, precision, inputs, dOut, reference: reference! },
        this.#context,
      ));
    const { out, gradients } = outcome ?? {};
    return out && gradients ? { out, gradients } : null;
  }

  /** Whether the CPU path runs a point of this shape and pass; records a series' skip when not. */
  async #cpuFits(
    series: PlannedSeries | undefined,
    shape: AttentionShape,
    pass: PassName,
  ): Promise<boolean> {
    const unsupported = cpuUnsupported(resolveShape(shape));
    const fit = unsupported === null
      ? cpuPreflight(shape, this.#hooks.availableMemoryBytes(), undefined, pass)
      : { fits: false as const, reason: unsupported };
    if (!fit.fits && series) await this.#skip(series, shape.seqLen, fit.reason);
    return fit.fits;
  }

  /** The CPU path's output: measured when the CPU is a series, else computed untimed. */
  async #cpuReference(
    cpu: CpuAttention,
    inputs: AttentionInputs,
    series: PlannedSeries | undefined,
    needed: boolean,
  ): Promise<Float32Array | null> {
    const seqLen = inputs.shape.seqLen;
    if (!await this.#cpuFits(series, inputs.shape, "forward")) return null;
    if (series) {
      this.#hooks.progress.beginPoint(
        series.series.name,
        seqLen,
        this.#config.warmup,
        this.#config.runs,
      );
      const point = await measureCpuPoint(cpu, inputs, this.#context);
      this.#hooks.progress.endPoint(_describeOutcome(point.result));
      await this.#addPoint(series, point.result);
      return point.out;
    }
    if (!needed) return null;
    cpu.load(inputs);
    return (await cpu.forward()).out;
  }

  /** One GPU series at one length; its output, or null when it did not run. */
  async #gpuPoint(
    plan: PlannedSeries,
    inputs: AttentionInputs,
    reference: Float32Array | null,
  ): Promise<Float32Array | null> {
    if (plan.implementation.device !== "gpu" || await this.#faulted(plan, inputs.shape)) {
      return null;
    }
    const { variant, precision } = plan.implementation;
    const gpu = this.#hooks.gpu!;
    const fit = plan.unsupported === null
      ? this.#gpuForwards.preflight(gpu, variant, inputs.shape, { precision })
      : { fits: false as const, reason: plan.unsupported };
    if (!await this.#gpuRuns(plan, inputs.shape, fit, reference !== null)) return null;
    const outcome = await this.#measureGpu(plan, inputs.shape, () =>
      measureGpuPoint(
        { gpu, gpuForwards: this.#gpuForwards, variant, precision, inputs, reference: reference! },
        this.#context,
      ));
    return outcome?.out ?? null;
  }

  /** Whether a GPU series met a fault (or the device was lost): the point fails with it. */
  async #faulted(plan: PlannedSeries, shape: AttentionShape): Promise<boolean> {
    const { name } = plan.series;
    if (this.#deviceLost !== null && !this.#faults.has(name)) {
      this.#faults.set(name, `device lost: ${this.#deviceLost}`);
    }
    const fault = this.#faults.get(name);
    if (fault !== undefined) await this.#addPoint(plan, emptyPoint(shape.seqLen, "failed", fault));
    return fault !== undefined;
  }

  /** Whether a GPU point runs: it fits, and there is a CPU reference; records the skip when not. */
  async #gpuRuns(
    plan: PlannedSeries,
    shape: AttentionShape,
    fit: { fits: true } | { fits: false; reason: string },
    hasReference: boolean,
  ): Promise<boolean> {
    const skipReason = !fit.fits
      ? fit.reason
      : !hasReference
      ? "no CPU reference to validate against (the CPU point was skipped)"
      : null;
    if (skipReason !== null) await this.#skip(plan, shape.seqLen, skipReason);
    return skipReason === null;
  }

  /** Measure a GPU point; a fault fails it and the series' later points. Its outcome, or null. */
  async #measureGpu(
    plan: PlannedSeries,
    shape: AttentionShape,
    measure: () => Promise<GpuPointOutcome>,
  ): Promise<GpuPointOutcome | null> {
    const { name } = plan.series;
    this.#hooks.progress.beginPoint(name, shape.seqLen, this.#config.warmup, this.#config.runs);
    let outcome;
    try {
      outcome = await measure();
    } catch (error) {
      if (error instanceof Interrupted) throw error;
      // a GPU fault (validation error, lost device, pipeline failure): this series stops
      const message = error instanceof Error ? error.message : String(error);
      this.#faults.set(name, message);
      this.#hooks.progress.endPoint(`failed: ${message}`);
      await this.#addPoint(plan, emptyPoint(shape.seqLen, "failed", message));
      return null;
    }
    plan.series.stageNames = outcome.stageNames;
    this.#hooks.progress.endPoint(_describeOutcome(outcome.result));
    await this.#addPoint(plan, outcome.result);
    return outcome;
  }

  async #skip(plan: PlannedSeries, seqLen: number, reason: string): Promise<void> {
    this.#results.skips.push({ series: plan.series.name, seqLen, reason });
    await this.#addPoint(plan, emptyPoint(seqLen, "skipped", reason));
  }

  /** Record a finished point at once, so an interrupt or a crash never loses it. */
  async #addPoint(plan: PlannedSeries, point: PointResult): Promise<void> {
    plan.series.points.push(point);
    finalizeSeries(plan.series);
    await this.#hooks.onPointDone?.({
      ...this.#results,
      interrupted: this.#hooks.interruption.aborted,
    });
  }
}

function _describeOutcome(point: PointResult): string {
  if (point.status !== "ok") return `${point.status}: ${point.reason}`;
  const summary = summarize(point.wallMs);
  const error = point.validation
    ? ` · rel L2 error ${point.validation.relL2Error.toExponential(1)}`
    : "";
  return `${summary.mean.toFixed(2)} ± ${summary.sem.toFixed(2)} ms${error}`;
}
