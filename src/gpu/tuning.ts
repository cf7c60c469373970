/**
 * Per-adapter kernel tuning: every kernel's layout, register block and workgroup size searched over
 * a candidate table that covers both kinds of adapter, each candidate validated against the
 * float64 oracle before it is timed, the two fastest timed again in interleaved rounds to decide;
 * the winners cached on disk, keyed by adapter and kernel source hash.
 *
 * Candidates: register-blocked invocations in one SIMD group (workgroup_size 8, what lavapipe
 * wants: storage loads are dear and workgroup memory does not help), small blocks in 64–256
 * invocation workgroups, and for every kernel but the softmax the workgroup-tile layout (tiles
 * staged in workgroup memory with coalesced vec4 loads by 64–256 invocations: what real GPUs
 * want). A kernel is timed by the stage that runs it
 * (timestamp queries; the synchronised wall clock without them) at n = 1000, d_model 512, 8 heads:
 * n is not a multiple of any tile, so the masked rows and keys are validated too (inner widths
 * that are not a multiple of a tile are covered by the tests). The built-in parameters of
 * the adapter's kind come first, so they are always measured; the search stops at a time budget
 * (lavapipe compiles a big register block in seconds, see kernels.ts).
 *
 * Without a cache entry the built-in parameters apply: nothing is tuned unless asked (`--tune`).
 *
 * @module
 */

import type { AdapterDescription } from "../results.ts";
import type { AttentionShape } from "../shape.ts";
import type { VariantName } from "../config.ts";
import { generateInputs } from "../random.ts";
import { type CacheFile, readCacheJson, readCacheRecord, writeCacheJson } from "../io/cache_dir.ts";
import { isJsonRecord, JsonChecker } from "../io/json_checks.ts";
import type { GpuContext } from "./device.ts";
import { GpuAttention } from "./gpu_attention.ts";
import { type KernelId, type KernelParameters, KERNELS, TUNINGS } from "./kernels.ts";
import { attentionOracle } from "./oracle.ts";
import { compareOutputs, GPU_TOLERANCES } from "./validation.ts";

/** The kernels that tuning searches. */
export type TunableKernel =
  | "projection"
  | "scores"
  | "softmax"
  | "weighted_values"
  | "flash_attention";

const p = (workgroupSize: number, template: Record<string, number> = {}): KernelParameters => ({
  workgroupSize,
  template,
});
/** Workgroup-tile layout candidates. */
const tiles = (workgroupSize: number, template: Record<string, number>): KernelParameters => ({
  workgroupSize,
  template,
  layout: "workgroup-tiles",
});

/**
 * The candidate table. Large register blocks in wide workgroups are left out: they hold a
 * workgroup's worth of 32×32 blocks and would never win on either kind of adapter.
 */
export const CANDIDATES: Readonly<Record<TunableKernel, readonly KernelParameters[]>> = {
  projection: [
    p(8, { ROW_BLOCKS: 8, COL_BLOCKS: 16 }),
    p(8, { ROW_BLOCKS: 8, COL_BLOCKS: 8 }),
    p(8, { ROW_BLOCKS: 4, COL_BLOCKS: 8 }),
    p(8, { ROW_BLOCKS: 8, COL_BLOCKS: 4 }),
    p(8, { ROW_BLOCKS: 4, COL_BLOCKS: 4 }),
    p(16, { ROW_BLOCKS: 4, COL_BLOCKS: 4 }),
    p(64, { ROW_BLOCKS: 1, COL_BLOCKS: 1 }),
    p(64, { ROW_BLOCKS: 2, COL_BLOCKS: 2 }),
    p(128, { ROW_BLOCKS: 1, COL_BLOCKS: 2 }),
    p(256, { ROW_BLOCKS: 1, COL_BLOCKS: 1 }),
    // 64×64 tiles: 256 invocations of 4×4, or 64 of 8×8; 128×128 tiles: 256 of 8×8
    tiles(256, { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 16, TILE_INNER: 4 }),
    tiles(64, { ROW_BLOCKS: 2, COL_BLOCKS: 2, ROW_LANES: 8, COL_LANES: 8, TILE_INNER: 4 }),
    tiles(256, { ROW_BLOCKS: 2, COL_BLOCKS: 2, ROW_LANES: 16, COL_LANES: 16, TILE_INNER: 2 }),
  ],
  scores: [
    p(8, { ROW_BLOCKS: 8, KEY_BLOCKS: 8 }),
    p(8, { ROW_BLOCKS: 4, KEY_BLOCKS: 8 }),
    p(8, { ROW_BLOCKS: 4, KEY_BLOCKS: 4 }),
    p(64, { ROW_BLOCKS: 1, KEY_BLOCKS: 1 }),
    p(64, { ROW_BLOCKS: 2, KEY_BLOCKS: 2 }),
    p(256, { ROW_BLOCKS: 1, KEY_BLOCKS: 1 }),
    tiles(256, { ROW_BLOCKS: 1, KEY_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 16, TILE_INNER: 4 }),
    tiles(64, { ROW_BLOCKS: 2, KEY_BLOCKS: 2, ROW_LANES: 8, COL_LANES: 8, TILE_INNER: 4 }),
  ],
  softmax: [p(8), p(64), p(256)],
  weighted_values: [
    p(8, { ROW_BLOCKS: 8, COL_BLOCKS: 8 }),
    p(8, { ROW_BLOCKS: 8, COL_BLOCKS: 4 }),
    p(8, { ROW_BLOCKS: 4, COL_BLOCKS: 4 }),
    p(64, { ROW_BLOCKS: 1, COL_BLOCKS: 1 }),
    p(64, { ROW_BLOCKS: 2, COL_BLOCKS: 2 }),
    p(256, { ROW_BLOCKS: 1, COL_BLOCKS: 1 }),
    tiles(64, { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 16, COL_LANES: 4, TILE_INNER: 4 }),
    tiles(128, { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 8, COL_LANES: 16, TILE_INNER: 4 }),
  ],
  flash_attention: [
    p(8, { QUERY_BLOCKS: 4, KEY_BLOCKS: 1 }),
    p(8, { QUERY_BLOCKS: 2, KEY_BLOCKS: 1 }),
    p(16, { QUERY_BLOCKS: 2, KEY_BLOCKS: 1 }),
    p(64, { QUERY_BLOCKS: 1, KEY_BLOCKS: 1 }),
    p(128, { QUERY_BLOCKS: 1, KEY_BLOCKS: 1 }),
    p(256, { QUERY_BLOCKS: 1, KEY_BLOCKS: 1 }),
    tiles(64, { QUERY_BLOCKS: 1, KEY_BLOCKS: 1, TILE_KEYS: 16 }),
    tiles(128, { QUERY_BLOCKS: 1, KEY_BLOCKS: 1, TILE_KEYS: 16 }),
    tiles(64, { QUERY_BLOCKS: 2, KEY_BLOCKS: 1, TILE_KEYS: 32 }),
  ],
};

/** Which forward and stage runs each kernel (the stage that is timed). */
const TIMED_STAGE: Readonly<Record<TunableKernel, { variant: VariantName; stage: number }>> = {
  projection: { variant: "fused", stage: 0 },
  flash_attention: { variant: "fused", stage: 1 },
  scores: { variant: "naive", stage: 1 },
  softmax: { variant: "naive", stage: 2 },
  weighted_values: { variant: "naive", stage: 3 },
};

/** The tuning shape: not a multiple of any tile, so edges are validated too. */
export const TUNING_SHAPE: AttentionShape = { seqLen: 1000, dModel: 512, heads: 8 };
/** Default time budget of a whole tuning, ms. */
export const TUNING_BUDGET_MS = 240_000;
const TIMED_RUNS = 3;
/** Interleaved rounds of the two fastest candidates that decide the winner. */
const FINAL_ROUNDS = 6;
const CACHE_FILE = "tuning.json";

/** One candidate's outcome: its best stage time, or why it has none. */
export interface CandidateResult {
  parameters: KernelParameters;
  /** fastest of the timed runs, ms; absent when the candidate failed or was not run */
  ms?: number;
  /** did not build, did not validate (with the error), or was skipped by the time budget */
  error?: string;
}

/** The outcome of tuning one kernel on one adapter. */
export interface KernelTuning {
  kernel: TunableKernel;
  sourceHash: string;
  /** the winner: the faster of the two fastest candidates, timed again in interleaved rounds */
  parameters: KernelParameters;
  candidates: CandidateResult[];
  /** the two finalists' fastest times over the interleaved rounds */
  final: CandidateResult[];
  shape: AttentionShape;
  timing: "timestamp-query" | "wall-clock";
  tunedAt: string;
}

/**
 * The cache key of an adapter: what names the driver and backend it runs through ("default" for
 * the native backends, as in caches written before the GL fallback).
 */
export function adapterKey(adapter: AdapterDescription): string {
  const backend = adapter.backendSource === "native" ? "default" : adapter.backend ?? "default";
  return [adapter.description, adapter.vendor, adapter.architecture, backend].join(" | ");
}

/** Hex SHA-256 (first 16 digits) of a kernel's WGSL: its common part and every layout. */
export async function kernelSourceHash(kernel: KernelId): Promise<string> {
  const spec = KERNELS[kernel];
  const sources = [spec.common?.source ?? "", ...Object.values(spec.layouts).map((l) => l.source)];
  const bytes = new TextEncoder().encode(sources.join("\n"));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A validated-and-timed measurement of candidates, shared by tuning and calibration. */
export class CandidateBench {
  readonly gpu: GpuContext;
  readonly shape: AttentionShape;
  readonly #inputs;
  #reference: Float32Array | null = null;

  constructor(gpu: GpuContext, shape: AttentionShape = TUNING_SHAPE, seed = 42) {
    this.gpu = gpu;
    this.shape = shape;
    this.#inputs = generateInputs(shape, seed);
  }

  /** The float64 oracle's output, rounded to f32 (computed once). */
  get reference(): Float32Array {
    return this.#reference ??= Float32Array.from(attentionOracle(this.#inputs));
  }

  /**
   * Build the forward that runs `kernel` with these parameters (the other kernels as tuned so
   * far), validate its whole output, then time the kernel's stage: fastest of `runs`.
   */
  async measure(
    kernel: TunableKernel,
    parameters: KernelParameters,
    runs = TIMED_RUNS,
  ): Promise<CandidateResult> {
    return (await this.measureInterleaved(kernel, [parameters], runs))[0]!;
  }

  /**
   * Like {@link measure} for several candidates at once, their forwards alive together and timed
   * in rounds that run each candidate once: on a shared machine noise comes in bursts of seconds,
   * so candidates timed one after another can trade places by chance; within a round they see
   * the same conditions.
   */
  async measureInterleaved(
    kernel: TunableKernel,
    candidates: readonly KernelParameters[],
    rounds = TIMED_RUNS,
  ): Promise<CandidateResult[]> {
    const { stage } = TIMED_STAGE[kernel];
    const prepared: { attention: GpuAttention | null; result: CandidateResult }[] = [];
    try {
      for (const parameters of candidates) prepared.push(await this.#prepare(kernel, parameters));
      for (let round = 0; round < rounds; round++) {
        for (const candidate of prepared) {
          if (candidate.attention === null) continue;
          try {
            const { wallMs, stageMs } = await candidate.attention.forwardStages([stage]);
            candidate.result.ms = Math.min(candidate.result.ms ?? Infinity, stageMs?.[0] ?? wallMs);
          } catch (error) {
            // this candidate has no time; the others go on
            delete candidate.result.ms;
            candidate.result.error = error instanceof Error ? error.message : String(error);
            candidate.attention.destroy();
            candidate.attention = null;
          }
        }
      }
    } finally {
      for (const { attention } of prepared) attention?.destroy();
    }
    return prepared.map(({ result }) => result);
  }

  /** The candidate's forward, built, run once and validated; or why it has none. */
  async #prepare(
    kernel: TunableKernel,
    parameters: KernelParameters,
  ): Promise<{ attention: GpuAttention | null; result: CandidateResult }> {
    const { variant } = TIMED_STAGE[kernel];
    let attention: GpuAttention | null = null;
    try {
      attention = await GpuAttention.create(this.gpu, variant, this.shape, {
        parameters: { [kernel]: parameters },
      });
      await attention.upload(this.#inputs);
      await attention.forward(); // lavapipe compiles at the first dispatch
      const { out } = await attention.readback();
      const check = compareOutputs(out, this.reference, GPU_TOLERANCES.f32);
      if (!check.passed) {
        attention.destroy();
        return {
          attention: null,
          result: {
            parameters,
            error: `output does not match: relative L2 error ${check.relL2Error.toExponential(2)}`,
          },
        };
      }
      return { attention, result: { parameters } };
    } catch (error) {
      attention?.destroy();
      const message = error instanceof Error ? error.message : String(error);
      return { attention: null, result: { parameters, error: message } };
    }
  }
}

/** Options of {@link tuneKernels}. */
export interface TuneOptions {
  kernels?: readonly TunableKernel[];
  budgetMs?: number;
  /** the shape candidates are validated and timed at (default {@link TUNING_SHAPE}) */
  shape?: AttentionShape;
  /** one line per candidate measured */
  log?: (line: string) => void;
  /** a cache file that is ignored, in one line (default: `warning: …` on stderr) */
  warn?: (line: string) => void;
}

/** The built-in parameters of the adapter's kind. */
export function defaultParameters(gpu: GpuContext): Readonly<Record<KernelId, KernelParameters>> {
  return TUNINGS[gpu.adapter.isSoftware ? "software" : "hardware"];
}

/** Whether two parameter sets are the same, whatever the order of their keys. */
export function sameParameters(a: KernelParameters, b: KernelParameters): boolean {
  const canonical = (p: KernelParameters) =>
    JSON.stringify([
      p.workgroupSize,
      p.layout ?? "registers",
      Object.entries(p.template).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    ]);
  return canonical(a) === canonical(b);
}

/** The candidates tuning measures for a kernel: the built-in parameters first, each set once. */
export function candidateTable(
  kernel: TunableKernel,
  builtIn: KernelParameters,
): KernelParameters[] {
  return [builtIn, ...CANDIDATES[kernel].filter((c) => !sameParameters(c, builtIn))];
}

/**
 * Search every kernel's candidates on this adapter (defaults first), in the order projection,
 * flash attention, scores, softmax, weighted values; each winner is applied to `gpu` before the
 * next kernel is tuned. Candidates past the budget are recorded as skipped.
 */
export async function tuneKernels(
  gpu: GpuContext,
  options: TuneOptions = {},
): Promise<Partial<Record<TunableKernel, KernelTuning>>> {
  const kernels = options.kernels ??
    ["projection", "flash_attention", "scores", "softmax", "weighted_values"] as const;
  const deadline = performance.now() + (options.budgetMs ?? TUNING_BUDGET_MS);
  const bench = new CandidateBench(gpu, options.shape);
  const defaults = defaultParameters(gpu);
  const results: Partial<Record<TunableKernel, KernelTuning>> = {};
  for (const kernel of kernels) {
    const table = candidateTable(kernel, defaults[kernel]);
    const candidates: CandidateResult[] = [];
    for (const parameters of table) {
      if (performance.now() > deadline) {
        candidates.push({ parameters, error: "skipped: tuning time budget spent" });
        continue;
      }
      const result = await bench.measure(kernel, parameters);
      candidates.push(result);
      options.log?.(
        `${kernel.padEnd(16)} wg ${String(parameters.workgroupSize).padStart(3)} ` +
          `${(parameters.layout ?? "registers").padEnd(15)} ` +
          `${JSON.stringify(parameters.template).padEnd(34)} ` +
          (result.ms !== undefined ? `${result.ms.toFixed(2)} ms` : result.error!),
      );
    }
    const measured = candidates.filter((c) => c.ms !== undefined).sort((a, b) => a.ms! - b.ms!);
    if (measured.length === 0) continue; // nothing validated: the defaults stay
    // the two fastest again, interleaved: which of two close candidates wins is otherwise chance
    const final = await bench.measureInterleaved(
      kernel,
      measured.slice(0, 2).map((c) => c.parameters),
      FINAL_ROUNDS,
    );
    const finalists = final.filter((c) => c.ms !== undefined);
    const best = finalists.length > 0
      ? finalists.reduce((a, b) => (b.ms! < a.ms! ? b : a))
      : measured[0]!;
    results[kernel] = {
      kernel,
      sourceHash: await kernelSourceHash(kernel),
      parameters: best.parameters,
      candidates,
      final,
      shape: bench.shape,
      timing: gpu.hasTimestamps ? "timestamp-query" : "wall-clock",
      tunedAt: new Date().toISOString(),
    };
    gpu.kernelParameters = { ...gpu.kernelParameters, [kernel]: best.parameters };
  }
  return results;
}

type TuningCache = Record<string, Partial<Record<TunableKernel, KernelTuning>>>;

/** What fixes a cache entry that is ignored. */
export const CACHE_FIX = "deno task calibrate --tune";

/** Prints a warning on stderr: the default of {@link TuneOptions.warn}. */
export const warnOnStderr = (line: string): void => console.error(`warning: ${line}`);

/** Every parameter set tuning can choose for a kernel: its candidates and the built-in sets. */
function _knownParameters(kernel: TunableKernel): KernelParameters[] {
  return [...CANDIDATES[kernel], TUNINGS.software[kernel], TUNINGS.hardware[kernel]];
}

/** The largest value the tuning table gives a workgroup size or any template value. */
const LARGEST_TABLE_VALUE = Math.max(
  ...(Object.keys(CANDIDATES) as TunableKernel[]).flatMap(_knownParameters).flatMap((p) => [
    p.workgroupSize,
    ...Object.values(p.template),
  ]),
);

/**
 * Check parsed kernel parameters field by field against the tuning table's rules: a workgroup
 * size and template values that are positive integers within the table's range, a layout the
 * kernel has, and, as a whole, one of the sets tuning can choose. Problems go to `check`.
 */
export function checkKernelParameters(
  check: JsonChecker,
  kernel: TunableKernel,
  value: unknown,
  where: string,
): KernelParameters | undefined {
  const before = check.problems.length;
  const p = check.record(value, where);
  if (p === undefined) return undefined;
  check.integerIn(p.workgroupSize, `${where}.workgroupSize`, 1, LARGEST_TABLE_VALUE);
  if (p.layout !== undefined) {
    check.oneOf(p.layout, Object.keys(KERNELS[kernel].layouts), `${where}.layout`);
  }
  const template = check.record(p.template, `${where}.template`);
  for (const [name, item] of Object.entries(template ?? {})) {
    check.integerIn(item, `${where}.template.${name}`, 1, LARGEST_TABLE_VALUE);
  }
  if (check.problems.length > before) return undefined;
  const parameters = value as KernelParameters;
  if (!_knownParameters(kernel).some((known) => sameParameters(known, parameters))) {
    check.problems.push(
      `${where} ${JSON.stringify(parameters)} is not a parameter set of the tuning table`,
    );
    return undefined;
  }
  return parameters;
}

/** Check one kernel's cached tuning field by field; problems go to `check`. */
function _checkKernelTuning(
  check: JsonChecker,
  kernel: TunableKernel,
  value: unknown,
  sourceHash: string,
): KernelTuning | undefined {
  const before = check.problems.length;
  const tuning = check.record(value, kernel);
  if (tuning === undefined) return undefined;
  check.oneOf(tuning.kernel, [kernel], `${kernel}.kernel`);
  if (check.string(tuning.sourceHash, `${kernel}.sourceHash`) !== undefined) {
    if (tuning.sourceHash !== sourceHash) {
      check.problems.push(`${kernel} was tuned for an earlier version of its WGSL`);
    }
  }
  checkKernelParameters(check, kernel, tuning.parameters, `${kernel}.parameters`);
  check.array(tuning.candidates, `${kernel}.candidates`);
  check.array(tuning.final, `${kernel}.final`);
  const shape = check.record(tuning.shape, `${kernel}.shape`);
  for (const key of ["seqLen", "dModel", "heads"]) {
    if (shape) check.integerIn(shape[key], `${kernel}.shape.${key}`, 1, Number.MAX_SAFE_INTEGER);
  }
  check.oneOf(tuning.timing, ["timestamp-query", "wall-clock"], `${kernel}.timing`);
  check.dateString(tuning.tunedAt, `${kernel}.tunedAt`);
  return check.problems.length > before ? undefined : value as KernelTuning;
}

/**
 * This adapter's entry of a parsed cache file: its usable kernel tunings, and one line about
 * whatever is ignored (null when nothing is).
 */
function _checkTuningCache(
  file: CacheFile,
  key: string,
  hashes: Readonly<Record<TunableKernel, string>>,
): { tuning: Partial<Record<TunableKernel, KernelTuning>>; warning: string | null } {
  const tuning: Partial<Record<TunableKernel, KernelTuning>> = {};
  const ignored = (what: string, problems: string) =>
    `ignoring ${what} in the tuning cache ${file.path} (${problems}): the built-in parameters ` +
    `apply; to fix it: ${CACHE_FIX}`;
  if ("problem" in file) return { tuning, warning: ignored("everything", `it ${file.problem}`) };
  const check = new JsonChecker();
  const root = check.record(file.value, "the file");
  const entry = root?.[key] === undefined ? undefined : check.record(root[key], `"${key}"`);
  if (check.problems.length > 0) {
    return { tuning, warning: ignored("this adapter's entry", check.problems.join("; ")) };
  }
  const bad: string[] = [];
  for (const kernel of Object.keys(CANDIDATES) as TunableKernel[]) {
    if (entry?.[kernel] === undefined) continue;
    const checked = _checkKernelTuning(check, kernel, entry[kernel], hashes[kernel]);
    if (checked === undefined) bad.push(kernel);
    else tuning[kernel] = checked;
  }
  const warning = bad.length === 0
    ? null
    : ignored(`the entries of ${bad.join(", ")}`, check.problems.join("; "));
  return { tuning, warning };
}

/**
 * The tuning cache's entries for this adapter, each checked field by field (a kernel tuned for an
 * earlier version of its source included): what fails is ignored, with one warning line that
 * names the cache file and the fix, and the built-in parameters apply to that kernel.
 */
export async function loadTuning(
  adapter: AdapterDescription,
  warn: (line: string) => void = warnOnStderr,
): Promise<Partial<Record<TunableKernel, KernelTuning>>> {
  const file = await readCacheJson(CACHE_FILE);
  if (file === null) return {};
  const hashes = {} as Record<TunableKernel, string>;
  for (const kernel of Object.keys(CANDIDATES) as TunableKernel[]) {
    hashes[kernel] = await kernelSourceHash(kernel);
  }
  const { tuning, warning } = _checkTuningCache(file, adapterKey(adapter), hashes);
  if (warning !== null) warn(warning);
  return tuning;
}

/** Store this adapter's tuning in the cache (other adapters' entries kept); returns the path. */
export async function saveTuning(
  adapter: AdapterDescription,
  tuning: Partial<Record<TunableKernel, KernelTuning>>,
): Promise<string> {
  const key = adapterKey(adapter);
  const cache = await readCacheRecord(CACHE_FILE);
  cache[key] = { ...(isJsonRecord(cache[key]) ? cache[key] : {}), ...tuning };
  return await writeCacheJson(CACHE_FILE, cache);
}

/**
 * Apply this adapter's kernel parameters to `gpu`: tuned afresh when `tune` (and cached), else
 * from the cache, else the built-in defaults. Returns the tuning applied (empty: defaults).
 */
export async function applyTuning(
  gpu: GpuContext,
  options: TuneOptions & { tune?: boolean } = {},
): Promise<Partial<Record<TunableKernel, KernelTuning>>> {
  let tuning: Partial<Record<TunableKernel, KernelTuning>>;
  if (options.tune) {
    gpu.kernelParameters = {};
    tuning = await tuneKernels(gpu, options);
    await saveTuning(gpu.adapter, tuning).catch((error) =>
      options.log?.(`tuning not cached: ${error instanceof Error ? error.message : error}`)
    );
  } else {
    tuning = await loadTuning(gpu.adapter, options.warn);
  }
  gpu.kernelParameters = Object.fromEntries(
    Object.entries(tuning).map(([kernel, t]) => [kernel, t.parameters]),
  );
  return tuning;
}
