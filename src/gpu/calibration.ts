/**
 * Device calibration: the ceilings a stage's achieved rate is compared with.
 *
 * - GPU matmul GFLOP/s: the best projection stage (x @ [w_q|w_k|w_v] + bias at n = 4096,
 *   d_model 512: 4096 × 512 × 1536, the size the benchmarks' targets are stated at) over the
 *   projection candidates of the tuning table, each validated before it is timed; the two
 *   fastest are timed again in interleaved rounds, since a ceiling must be the best rate, not a
 *   noisy sample.
 *   2 FLOPs per multiply-accumulate.
 * - GPU copy GB/s: the copy kernel over 64 MiB, bytes read + bytes written over its time, best
 *   over a few workgroup sizes.
 * - CPU matmul GFLOP/s: the CPU path's WebAssembly gemm on one thread (CpuStages' projection,
 *   weight packing included), times the worker count the CPU path uses.
 *
 * Kept in the cache folder keyed by adapter (src/io/cache_dir.ts); `deno task calibrate` refreshes.
 *
 * @module
 */

import type { AdapterDescription, Calibration } from "../results.ts";
import { type CacheFile, readCacheJson, readCacheRecord, writeCacheJson } from "../io/cache_dir.ts";
import { JsonChecker } from "../io/json_checks.ts";
import { cpuMatmulGflops } from "../reference/cpu_stages.ts";
import { BufferTracker } from "./buffer_tracker.ts";
import type { GpuContext } from "./device.ts";
import { type KernelParameters, kernelPipeline, KERNELS } from "./kernels.ts";
import { StageTimestamps } from "./timestamps.ts";
import {
  adapterKey,
  CACHE_FIX,
  CandidateBench,
  CANDIDATES,
  checkKernelParameters,
  warnOnStderr,
} from "./tuning.ts";

export type { Calibration };

const CALIBRATION_SHAPE = { seqLen: 4096, dModel: 512, heads: 8 };
/** Timed runs of each candidate, then interleaved rounds of the two fastest. */
const CANDIDATE_RUNS = 3;
const WINNER_RUNS = 10;
const COPY_BYTES = 64 * 2 ** 20;
const COPY_WORKGROUP_SIZES = [8, 64, 256];
const CACHE_FILE = "calibration.json";

/** Bytes read + written per second of the copy kernel, GB/s: the best workgroup size, best of 5. */
export async function measureCopyGBps(gpu: GpuContext): Promise<number> {
  const device = gpu.device;
  const tracker = new BufferTracker(device);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const src = tracker.create("activations", { label: "copy src", size: COPY_BYTES, usage });
  const dst = tracker.create("activations", { label: "copy dst", size: COPY_BYTES, usage });
  const timestamps = new StageTimestamps(device, tracker, 1, gpu.hasTimestamps);
  let bestMs = Infinity;
  try {
    for (const workgroupSize of COPY_WORKGROUP_SIZES) {
      const pipeline = await kernelPipeline(device, KERNELS.copy, { workgroupSize, template: {} });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: src } }, {
          binding: 1,
          resource: { buffer: dst },
        }],
      });
      const groups = Math.min(65535, Math.ceil(COPY_BYTES / 16 / workgroupSize));
      for (let run = 0; run < 6; run++) {
        const encoder = device.createCommandEncoder({ label: "copy" });
        const pass = encoder.beginComputePass({
          timestampWrites: timestamps.passTimestampWrites(0),
        });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(groups);
        pass.end();
        timestamps.resolve(encoder);
        const start = performance.now();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        const wallMs = performance.now() - start;
        const stageMs = await timestamps.read();
        if (run > 0) bestMs = Math.min(bestMs, stageMs?.[0] ?? wallMs); // run 0 compiles
      }
    }
  } finally {
    timestamps.destroy();
    tracker.destroyAll();
  }
  return (2 * COPY_BYTES) / (bestMs * 1e6); // bytes read + bytes written
}

/** Measure every ceiling (the GPU's when `gpu` is given). */
export async function calibrate(
  gpu: GpuContext,
  options: { log?: (line: string) => void } = {},
): Promise<Calibration> {
  const bench = new CandidateBench(gpu, CALIBRATION_SHAPE);
  const flops = 2 * 3 * CALIBRATION_SHAPE.seqLen * CALIBRATION_SHAPE.dModel ** 2; // 2 per MAC
  const screened: { gflops: number; parameters: KernelParameters }[] = [];
  for (const parameters of CANDIDATES.projection) {
    const result = await bench.measure("projection", parameters, CANDIDATE_RUNS);
    const gflops = result.ms !== undefined ? flops / (result.ms * 1e6) : NaN;
    options.log?.(
      `matmul wg ${parameters.workgroupSize} ${parameters.layout ?? "registers"} ` +
        `${JSON.stringify(parameters.template)}: ` +
        (result.ms !== undefined ? `${gflops.toFixed(1)} GFLOP/s` : result.error!),
    );
    if (result.ms !== undefined) screened.push({ gflops, parameters });
  }
  if (screened.length === 0) {
    throw new Error("no projection candidate validated: no matmul ceiling");
  }
  screened.sort((a, b) => b.gflops - a.gflops);
  // the two fastest again, in interleaved rounds: a ceiling is the best rate, and which of two
  // close candidates has it is chance when they are timed one after the other
  const finalists = screened.slice(0, 2);
  const final = await bench.measureInterleaved(
    "projection",
    finalists.map((f) => f.parameters),
    WINNER_RUNS,
  );
  let best = finalists[0]!;
  for (const [index, result] of final.entries()) {
    const gflops = result.ms !== undefined ? flops / (result.ms * 1e6) : NaN;
    if (gflops > best.gflops) best = { gflops, parameters: finalists[index]!.parameters };
  }
  options.log?.(
    `matmul ceiling: ${best.gflops.toFixed(1)} GFLOP/s (the two fastest, ${WINNER_RUNS} more ` +
      `rounds interleaved)`,
  );
  const copyGBps = await measureCopyGBps(gpu);
  options.log?.(`copy: ${copyGBps.toFixed(1)} GB/s (read + written)`);
  const oneThread = cpuMatmulGflops();
  const threads = navigator.hardwareConcurrency;
  options.log?.(`CPU gemm: ${oneThread.toFixed(1)} GFLOP/s on one thread, ${threads} threads`);
  return {
    adapterKey: adapterKey(gpu.adapter),
    gpu: {
      matmulGflops: best.gflops,
      matmulParameters: best.parameters,
      copyGBps,
      timing: gpu.hasTimestamps ? "timestamp-query" : "wall-clock",
    },
    cpu: { matmulGflopsOneThread: oneThread, threads, matmulGflops: oneThread * threads },
    calibratedAt: new Date().toISOString(),
  };
}

/**
 * The largest rates a cached ceiling may claim, far above any device of 2026 (an H200: ~2·10⁶
 * GFLOP/s dense f16, 4.8·10³ GB/s): a larger value is a corrupt file, not a measurement.
 */
const PLAUSIBLE_MAX = { gflops: 1e8, gbps: 1e7, threads: 1 << 16 };

/** Check a cached calibration field by field; problems go to `check`. */
function _checkCalibration(check: JsonChecker, value: unknown, key: string): void {
  const entry = check.record(value, `"${key}"`);
  if (entry === undefined) return;
  check.oneOf(entry.adapterKey, [key], "adapterKey");
  const gpu = check.record(entry.gpu, "gpu");
  if (gpu) {
    check.positiveNumber(gpu.matmulGflops, "gpu.matmulGflops", PLAUSIBLE_MAX.gflops);
    checkKernelParameters(check, "projection", gpu.matmulParameters, "gpu.matmulParameters");
    check.positiveNumber(gpu.copyGBps, "gpu.copyGBps", PLAUSIBLE_MAX.gbps);
    check.oneOf(gpu.timing, ["timestamp-query", "wall-clock"], "gpu.timing");
  }
  const cpu = check.record(entry.cpu, "cpu");
  if (cpu) {
    const oneThread = check.positiveNumber(
      cpu.matmulGflopsOneThread,
      "cpu.matmulGflopsOneThread",
      PLAUSIBLE_MAX.gflops,
    );
    const threads = check.integerIn(cpu.threads, "cpu.threads", 1, PLAUSIBLE_MAX.threads);
    const total = check.positiveNumber(cpu.matmulGflops, "cpu.matmulGflops", PLAUSIBLE_MAX.gflops);
    const product = (oneThread ?? NaN) * (threads ?? NaN);
    if (total !== undefined && Math.abs(total - product) > 1e-9 * product) {
      check.problems.push(`cpu.matmulGflops ${total} is not matmulGflopsOneThread × threads`);
    }
  }
  check.dateString(entry.calibratedAt, "calibratedAt");
}

/** This adapter's entry of a parsed cache file, and one line about it if it is ignored. */
function _checkCalibrationCache(
  file: CacheFile,
  key: string,
): { calibration: Calibration | null; warning: string | null } {
  const ignored = (problems: string) => ({
    calibration: null,
    warning: `ignoring the calibration cache ${file.path} (${problems}): no ceilings in this ` +
      `report; to fix it: ${CACHE_FIX}`,
  });
  if ("problem" in file) return ignored(`it ${file.problem}`);
  const check = new JsonChecker();
  const root = check.record(file.value, "the file");
  if (root?.[key] !== undefined) _checkCalibration(check, root[key], key);
  if (check.problems.length > 0) return ignored(check.problems.join("; "));
  return { calibration: (root?.[key] as Calibration | undefined) ?? null, warning: null };
}

/**
 * This adapter's cached calibration, checked field by field, or null: none cached, or ignored
 * with one warning line that names the cache file and the fix.
 */
export async function loadCalibration(
  adapter: AdapterDescription,
  warn: (line: string) => void = warnOnStderr,
): Promise<Calibration | null> {
  const file = await readCacheJson(CACHE_FILE);
  if (file === null) return null;
  const { calibration, warning } = _checkCalibrationCache(file, adapterKey(adapter));
  if (warning !== null) warn(warning);
  return calibration;
}

/** Store a calibration (other adapters' kept); returns the cache file's path. */
export async function saveCalibration(calibration: Calibration): Promise<string> {
  const cache = await readCacheRecord(CACHE_FILE);
  cache[calibration.adapterKey] = calibration;
  return await writeCacheJson(CACHE_FILE, cache);
}
