/**
 * `deno task calibrate [--tune] [--budget-s S]`: measure this adapter's ceilings (best matmul
 * GFLOP/s over the tuned configurations, copy GB/s) and the CPU path's matmul GFLOP/s, print them
 * and cache them keyed by adapter (src/gpu/calibration.ts); the profile reports each stage's
 * achieved rate as a share of them. `--tune` first searches every kernel's parameters on this
 * adapter and caches the winners (src/gpu/tuning.ts), printing every candidate's time.
 *
 * Exit codes: 0 done, 1 no calibration (nothing validated), 2 bad flags or no GPU adapter (1 in CI).
 *
 * @module
 */

import { reportNoAdapter } from "./no_adapter.ts";
import { openGpu } from "../gpu/device.ts";
import { calibrate, type Calibration, saveCalibration } from "../gpu/calibration.ts";
import { CACHE_DIR_ENV, cacheDir } from "../io/cache_dir.ts";
import { applyTuning, TUNING_BUDGET_MS } from "../gpu/tuning.ts";
import { parseFlags, STANDARD_FLAGS, standardAnswer } from "./standard_flags.ts";
import { badValue, EXIT_FAULT, runCli } from "./usage_error.ts";

const USAGE = `Usage: deno task calibrate [--tune] [--budget-s S]

Measures the GPU adapter's matmul GFLOP/s and copy GB/s and the CPU path's matmul GFLOP/s, and
caches them (SELF_ATTENTION_PROFILER_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache,
/self-attention-profiler/).
  --tune        first search every kernel's parameters on this adapter and cache the winners
  --budget-s S  time budget of the search, seconds (default ${TUNING_BUDGET_MS / 1000})
  -h, --help    this text
  --version     the version of this tool and of Deno
Exit codes: 0 done, 1 no calibration or it could not be cached (the numbers are printed),
2 bad flags or no GPU adapter (1 in CI).`;

/**
 * Print the ceilings, then cache them. A cache that cannot be written (no space, a folder that is
 * a file) loses nothing measured: the numbers are printed first, then one line says where they
 * could not be saved; exit code 1.
 */
export async function reportCalibration(calibration: Calibration): Promise<number> {
  const gpu = calibration.gpu;
  console.log(
    `ceilings: GPU matmul ${gpu.matmulGflops.toFixed(1)} GFLOP/s ` +
      `(wg ${gpu.matmulParameters.workgroupSize} ${gpu.matmulParameters.layout ?? "registers"} ` +
      `${JSON.stringify(gpu.matmulParameters.template)}), copy ${gpu.copyGBps.toFixed(1)} GB/s; ` +
      `CPU matmul ${calibration.cpu.matmulGflops.toFixed(1)} GFLOP/s ` +
      `(${calibration.cpu.matmulGflopsOneThread.toFixed(1)} × ${calibration.cpu.threads} threads)`,
  );
  try {
    console.log(`cached: ${await saveCalibration(calibration)}`);
    return 0;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(
      `error: the calibration above is not cached: cannot write ${cacheDir() ?? "a cache folder"}` +
        ` (${reason}); to cache it, set ${CACHE_DIR_ENV} to a writable folder`,
    );
    return EXIT_FAULT;
  }
}

/** The command: parse, tune if asked, calibrate, print, cache. */
export async function main(args: string[]): Promise<number> {
  const values = parseFlags(args, {
    tune: { type: "boolean" },
    "budget-s": { type: "string" },
    ...STANDARD_FLAGS,
  });
  const answer = standardAnswer(values, USAGE);
  if (answer !== null) {
    console.log(answer);
    return 0;
  }
  const budgetText = values["budget-s"];
  const budgetS = budgetText === undefined ? TUNING_BUDGET_MS / 1000 : Number(budgetText);
  if (!(Number.isFinite(budgetS) && budgetS > 0) || budgetText?.trim() === "") {
    throw badValue("budget-s", budgetText!, "expected a positive number of seconds");
  }
  const gpu = await openGpu();
  if (gpu === null) return reportNoAdapter();
  try {
    const backend = gpu.adapter.backend ? `, backend ${gpu.adapter.backend}` : "";
    console.log(`adapter: ${gpu.adapter.description}${backend}`);
    const log = (line: string) => console.log(`  ${line}`);
    if (values.tune) console.log(`tuning (budget ${budgetS} s):`);
    const tuning = await applyTuning(gpu, { tune: values.tune, budgetMs: budgetS * 1000, log });
    for (const [kernel, t] of Object.entries(tuning)) {
      console.log(
        `  ${kernel.padEnd(16)} → wg ${t.parameters.workgroupSize} ` +
          `${t.parameters.layout ?? "registers"} ${JSON.stringify(t.parameters.template)}`,
      );
    }
    if (Object.keys(tuning).length === 0) console.log("kernel parameters: built-in defaults");
    console.log("calibrating:");
    const calibration = await calibrate(gpu, { log });
    return await reportCalibration(calibration);
  } finally {
    gpu.destroy();
  }
}

if (import.meta.main) {
  await runCli(() => main(Deno.args));
}
