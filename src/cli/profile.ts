/**
 * `deno task profile`: parse and check every flag, open the GPU, run the experiment, write the
 * data files after every finished point (atomically), then the figures and the console report.
 *
 * Exit codes: 0 done; 1 a point failed validation or met a device fault, or a write failed (a full
 * disk: one line, the files written before kept); 2 bad input, or another run writing into the
 * same --out; 130 interrupted (SIGINT, SIGTERM or SIGHUP: every output of the points finished so
 * far is written first, marked `"interrupted": true`).
 *
 * @module
 */

import { openGpu } from "../gpu/device.ts";
import {
  calibrate,
  type Calibration,
  loadCalibration,
  saveCalibration,
} from "../gpu/calibration.ts";
import { applyTuning } from "../gpu/tuning.ts";
import { GpuAttention, NO_SHADER_F16 } from "../gpu/gpu_attention.ts";
import { cpuPreflight } from "../preflight.ts";
import { expandGrid, shapeOf } from "../configuration.ts";
import type { AttentionShape } from "../shape.ts";
import { runProfile } from "../profile.ts";
import { ConsoleProgress, type ProgressReporter, QuietProgress } from "../progress.ts";
import { formatReport } from "../report.ts";
import type { ProfileConfig } from "../config.ts";
import type { GpuContext } from "../gpu/device.ts";
import type { SkipRecord } from "../results.ts";
import { EXIT_INTERRUPTED, Interrupts } from "./interrupts.ts";
import { checkOutDir } from "./out_dir.ts";
import { describeLeftovers, OutputFolder } from "./output_folder.ts";
import { parseProfileArgs } from "./profile_args.ts";
import { ProfileOutputs } from "./profile_outputs.ts";
import { runCli, UsageError } from "./usage_error.ts";
import { TensorDumps } from "../io/tensors_file.ts";

/**
 * A length that no requested series can run is bad input, found before any work starts; the
 * message carries each path's reason (memory, adapter limits, a head width the kernels refuse).
 */
function assertSomethingRuns(
  config: ProfileConfig,
  gpu: GpuContext | null,
  availableBytes: number,
): void {
  const { configurations } = expandGrid(config.grid);
  for (const seqLen of config.seqLens) {
    const reasons = configurations.map((configuration) =>
      _whyNothingRuns(config, gpu, availableBytes, shapeOf(configuration, seqLen))
    );
    if (reasons.some((reason) => reason === null)) continue;
    const first = reasons[0]!;
    throw new UsageError(`--seq-lens ${seqLen}: cannot run here: ${first}`);
  }
}

/** Why no requested series can run this shape (the reasons of each path), or null. */
function _whyNothingRuns(
  config: ProfileConfig,
  gpu: GpuContext | null,
  availableBytes: number,
  shape: AttentionShape,
): string | null {
  const cpuFit = cpuPreflight(shape, availableBytes);
  // every GPU output is checked against the CPU path, so nothing runs without it
  if (!cpuFit.fits) return `the CPU path ${cpuFit.reason}`;
  if (config.devices.includes("cpu") || gpu === null) return null;
  const gpuFits = config.variants.flatMap((variant) =>
    config.precisions.map((precision) => ({
      variant: `${variant} ${precision}`,
      fit: GpuAttention.preflight(gpu, variant, shape, { precision }),
    }))
  );
  if (gpuFits.some(({ fit }) => fit.fits)) return null;
  const reasons = gpuFits.map(({ variant, fit }) => `${variant}: ${fit.fits ? "" : fit.reason}`);
  return `(d_model ${shape.dModel}, ${shape.heads} heads) no GPU variant can run: ` +
    reasons.join("; ");
}

/** Open the GPU when asked; null (with a skip and a warning) when no adapter is found. */
async function openRequestedGpu(
  config: ProfileConfig,
  progress: ProgressReporter,
  skips: SkipRecord[],
): Promise<GpuContext | null> {
  if (!config.devices.includes("gpu")) return null;
  const gpu = await openGpu();
  if (gpu === null) {
    const reason =
      "no WebGPU adapter found (on Debian, mesa-vulkan-drivers provides a software one)";
    if (config.devicesExplicit) {
      throw new UsageError(`--devices ${config.devices.join(",")}: ${reason}`);
    }
    progress.warn(`${reason}: running the CPU path alone`);
    skips.push({ series: "gpu", reason });
  }
  return gpu;
}

/** Bad input the adapter reveals: f16 asked of an adapter without it, nothing that can run. */
async function assertRunnable(
  config: ProfileConfig,
  gpu: GpuContext | null,
  tune: boolean,
  progress: ProgressReporter,
): Promise<void> {
  if (gpu !== null && config.precisions.includes("f16") && !gpu.device.features.has("shader-f16")) {
    if (config.precisions.length === 1) {
      throw new UsageError(
        `--precision f16: the adapter ${gpu.adapter.description} has no shader-f16`,
      );
    }
    progress.warn(`f16 series skipped: ${NO_SHADER_F16}`);
  }
  // the cached kernel parameters come before the check, which judges by them; tuning (minutes)
  // comes after it, and is checked again
  if (gpu !== null && !tune) await applyTuning(gpu, { warn: (line) => progress.warn(line) });
  assertSomethingRuns(config, gpu, Deno.systemMemoryInfo().available);
}

/** Tuning (when asked) and the calibrated ceilings of the adapter. */
async function prepareGpu(
  gpu: GpuContext,
  tune: boolean,
  config: ProfileConfig,
  progress: ProgressReporter,
): Promise<Calibration | null> {
  const warn = (line: string) => progress.warn(line);
  if (!tune) return await loadCalibration(gpu.adapter, warn);
  const log = (line: string) => {
    if (!config.quiet) console.log(`  ${line}`);
  };
  if (!config.quiet) console.log("tuning the GPU kernels on this adapter:");
  await applyTuning(gpu, { tune: true, log, warn });
  assertSomethingRuns(config, gpu, Deno.systemMemoryInfo().available);
  const calibration = await calibrate(gpu, { log });
  await saveCalibration(calibration).catch((error) =>
    progress.warn(`calibration not cached: ${error instanceof Error ? error.message : error}`)
  );
  return calibration;
}

/**
 * What an interrupt does: before the first run there is nothing to keep, so the command exits at
 * once; from then on, the first stops after the current run (and marks the files written so far
 * interrupted at once), a later one exits as soon as the write in progress is complete.
 */
function handleInterrupts(progress: ProgressReporter) {
  let outputs: ProfileOutputs | null = null;
  const interrupts = new Interrupts({
    first(signal) {
      if (outputs === null) {
        progress.warn(`${signal}: interrupted before the first run: nothing was profiled`);
        Deno.exit(EXIT_INTERRUPTED);
      }
      progress.warn(
        `${signal}: interrupted: stopping after the current run, then writing every output of ` +
          "the finished points (interrupt again to exit sooner)",
      );
      outputs.markInterrupted().catch((error) => progress.warn(error.message));
    },
    again(signal) {
      progress.warn(`${signal} again: exiting once the file being written is complete`);
      void outputs!.settled().then(() => Deno.exit(EXIT_INTERRUPTED));
    },
  });
  return {
    signal: interrupts.signal,
    /** the runs start: from now on the finished points are kept */
    running(into: ProfileOutputs) {
      outputs = into;
    },
  };
}

async function main(): Promise<number> {
  const parsed = parseProfileArgs(Deno.args);
  if (parsed.help) {
    console.log(parsed.text);
    return 0;
  }
  const config = parsed.config;
  await checkOutDir(config.outDir);
  const progress: ProgressReporter = config.quiet ? new QuietProgress() : new ConsoleProgress();
  // installed first: an interrupt while the GPU opens or the kernels are tuned is one too
  const interrupts = handleInterrupts(progress);
  const skips: SkipRecord[] = [];
  const gpu = await openRequestedGpu(config, progress, skips);
  try {
    await assertRunnable(config, gpu, parsed.tune, progress);
    const { folder, leftovers } = await OutputFolder.claim(config.outDir);
    globalThis.addEventListener("unload", () => folder.releaseSync());
    const removed = describeLeftovers(config.outDir, leftovers);
    if (removed !== null) progress.warn(removed);
    const calibration = gpu === null ? null : await prepareGpu(gpu, parsed.tune, config, progress);

    const outputs = new ProfileOutputs(config.outDir);
    const dumps = new TensorDumps();
    interrupts.running(outputs);
    const results = await runProfile(config, {
      progress,
      interruption: interrupts.signal,
      gpu,
      availableMemoryBytes: () => Deno.systemMemoryInfo().available,
      skips,
      calibration,
      onPointDone: async (snapshot) => {
        await outputs.data(snapshot);
      },
      onLengthDone: async (done) => {
        if (config.dumpTensors && done.inputs.shape.seqLen <= config.dumpMax) {
          // both passes of a configuration share one file: the dump so far, rewritten
          await outputs.tensors(dumps.add(done));
        }
      },
    });
    const written = [...await outputs.data(results), ...await outputs.figures(results)];
    // an interrupt during the final writes has queued the data files again, marked; the reports
    // and the console say so too
    results.interrupted ||= interrupts.signal.aborted;
    written.push(...await outputs.reports(results));
    await outputs.settled();
    results.interrupted ||= interrupts.signal.aborted;
    console.log(formatReport(results));
    if (!config.quiet) console.log(`Wrote ${written.join(", ")}`);
    if (results.interrupted) return EXIT_INTERRUPTED;
    const failed = results.series.some((s) => s.points.some((p) => p.status === "failed"));
    return failed ? 1 : 0;
  } finally {
    gpu?.destroy();
  }
}

if (import.meta.main) await runCli(main);
