/**
 * `deno task profile`: parse and check every flag, open the GPU, run the experiment, write the
 * data files after every finished point (atomically), then the figures and the console report.
 *
 * Exit codes: 0 done; 1 a point failed validation or met a device fault; 2 bad input; 130
 * interrupted (Ctrl-C / SIGTERM: the points finished so far are written first).
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
import { writeReportFiles, writeResultsFiles } from "../io/results_files.ts";
import { writeTensorsFile } from "../io/tensors_file.ts";
import { writeFigures } from "../plot/figures.ts";
import { cpuPreflight } from "../preflight.ts";
import { expandGrid, shapeOf } from "../configuration.ts";
import type { AttentionShape } from "../shape.ts";
import { runProfile } from "../profile.ts";
import { ConsoleProgress, type ProgressReporter, QuietProgress } from "../progress.ts";
import { formatReport } from "../report.ts";
import type { ProfileConfig } from "../config.ts";
import type { GpuContext } from "../gpu/device.ts";
import type { SkipRecord } from "../results.ts";
import { checkOutDir } from "./out_dir.ts";
import { parseProfileArgs, PROFILE_HELP } from "./profile_args.ts";
import { runCli, UsageError } from "./usage_error.ts";

/** Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

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

async function main(): Promise<number> {
  const parsed = parseProfileArgs(Deno.args);
  if (parsed.help) {
    console.log(PROFILE_HELP);
    return 0;
  }
  const config = parsed.config;
  await checkOutDir(config.outDir);
  const progress: ProgressReporter = config.quiet ? new QuietProgress() : new ConsoleProgress();
  const skips: SkipRecord[] = [];
  let gpu: GpuContext | null = null;
  if (config.devices.includes("gpu")) {
    gpu = await openGpu();
    if (gpu === null) {
      const reason =
        "no WebGPU adapter found (on Debian, mesa-vulkan-drivers provides a software one)";
      if (config.devicesExplicit) {
        throw new UsageError(`--devices ${config.devices.join(",")}: ${reason}`);
      }
      progress.warn(`${reason}: running the CPU path alone`);
      skips.push({ series: "gpu", reason });
    }
  }
  const availableMemoryBytes = () => Deno.systemMemoryInfo().available;
  try {
    if (
      gpu !== null && config.precisions.includes("f16") && !gpu.device.features.has("shader-f16")
    ) {
      if (config.precisions.length === 1) {
        throw new UsageError(
          `--precision f16: the adapter ${gpu.adapter.description} has no shader-f16`,
        );
      }
      progress.warn(`f16 series skipped: ${NO_SHADER_F16}`);
    }
    const warn = (line: string) => progress.warn(line);
    // the cached kernel parameters come before the check, which judges by them; tuning (minutes)
    // comes after it, and is checked again
    if (gpu !== null && !parsed.tune) await applyTuning(gpu, { warn });
    assertSomethingRuns(config, gpu, availableMemoryBytes());
    let calibration: Calibration | null = null;
    if (gpu !== null) {
      const log = (line: string) => {
        if (!config.quiet) console.log(`  ${line}`);
      };
      if (parsed.tune) {
        if (!config.quiet) console.log("tuning the GPU kernels on this adapter:");
        await applyTuning(gpu, { tune: true, log, warn });
        assertSomethingRuns(config, gpu, availableMemoryBytes());
        calibration = await calibrate(gpu, { log });
        await saveCalibration(calibration).catch((error) =>
          progress.warn(`calibration not cached: ${error instanceof Error ? error.message : error}`)
        );
      } else {
        calibration = await loadCalibration(gpu.adapter, warn);
      }
    }

    const interruption = new AbortController();
    /** the file writes in progress: a second interrupt waits for them, so no write is cut off */
    let writing: Promise<unknown> = Promise.resolve();
    const track = <T>(write: Promise<T>): Promise<T> => {
      writing = Promise.allSettled([writing, write]);
      return write;
    };
    const onSignal = () => {
      if (interruption.signal.aborted) {
        void writing.finally(() => Deno.exit(EXIT_INTERRUPTED));
        return;
      }
      progress.warn("interrupt: stopping after the current run (again to exit now)");
      interruption.abort();
    };
    Deno.addSignalListener("SIGINT", onSignal);
    Deno.addSignalListener("SIGTERM", onSignal);

    const results = await runProfile(config, {
      progress,
      interruption: interruption.signal,
      gpu,
      availableMemoryBytes,
      skips,
      calibration,
      onPointDone: async (snapshot) => {
        await track(writeResultsFiles(snapshot, config.outDir));
      },
      onLengthDone: async ({ configuration, severalConfigurations, inputs, outputs }) => {
        if (config.dumpTensors && inputs.shape.seqLen <= config.dumpMax) {
          const named = severalConfigurations ? configuration : null;
          const dump = { inputs, outputs, configuration: named };
          await track(writeTensorsFile(dump, config.outDir));
        }
      },
    });
    const written = [
      ...await track(writeResultsFiles(results, config.outDir)),
      ...await track(writeFigures(results, config.outDir)),
      ...await track(writeReportFiles(results, config.outDir)),
    ];
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
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
