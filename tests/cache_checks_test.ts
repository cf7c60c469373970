/**
 * The tuning and calibration caches are checked field by field: whatever breaks a rule of the
 * tuning table (or is not a plausible measurement) is ignored with one warning line that names the
 * cache file and the fix, and the run goes on with the built-in parameters. No GPU needed: the
 * loaders take an adapter description.
 */
import assert from "node:assert/strict";
import { CACHE_DIR_ENV, cacheDirFor } from "../src/io/cache_dir.ts";
import { loadCalibration, saveCalibration } from "../src/gpu/calibration.ts";
import { TUNINGS } from "../src/gpu/kernels.ts";
import { adapterKey, kernelSourceHash, loadTuning, type TunableKernel } from "../src/gpu/tuning.ts";
import type { AdapterDescription, Calibration } from "../src/results.ts";

const ADAPTER: AdapterDescription = {
  description: "test adapter",
  vendor: "test",
  architecture: "",
  device: "0",
  isSoftware: true,
  backend: "vulkan",
  backendSource: "native",
  features: [],
  limits: {},
};
const KEY = adapterKey(ADAPTER);
const FIX = "deno task calibrate --tune";

/** Run `fn` with the cache folder pointed at a fresh temporary folder. */
async function withCacheDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cache_checks_" });
  const previous = Deno.env.get(CACHE_DIR_ENV);
  Deno.env.set(CACHE_DIR_ENV, dir);
  try {
    await fn(dir);
  } finally {
    if (previous === undefined) Deno.env.delete(CACHE_DIR_ENV);
    else Deno.env.set(CACHE_DIR_ENV, previous);
    await Deno.remove(dir, { recursive: true });
  }
}

/** A sound cached tuning of `kernel`: the software built-in parameters. */
async function goodTuning(kernel: TunableKernel): Promise<Record<string, unknown>> {
  return {
    kernel,
    sourceHash: await kernelSourceHash(kernel),
    parameters: TUNINGS.software[kernel],
    candidates: [],
    final: [],
    shape: { seqLen: 1000, dModel: 512, heads: 8 },
    timing: "timestamp-query",
    tunedAt: "2026-12-01T00:00:00.000Z",
  };
}

/** loadTuning() of a cache holding `entry` for this adapter: what it returns and warns. */
async function loadWith(dir: string, entry: unknown) {
  await Deno.writeTextFile(`${dir}/tuning.json`, JSON.stringify({ [KEY]: entry }));
  const warnings: string[] = [];
  const tuning = await loadTuning(ADAPTER, (line) => warnings.push(line));
  return { tuning, warnings };
}

Deno.test("loadTuning() ignores each broken kernel entry with one warning naming the file and the fix", async () => {
  await withCacheDir(async (dir) => {
    const softmax = await goodTuning("softmax");
    const projection = await goodTuning("projection");
    delete (projection as { parameters?: unknown }).parameters;
    const scores = await goodTuning("scores");
    scores.parameters = { workgroupSize: 8, template: { ROW_BLOCKS: -1, KEY_BLOCKS: 8 } };
    const { tuning, warnings } = await loadWith(dir, { softmax, projection, scores });
    assert.deepEqual(Object.keys(tuning), ["softmax"]);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.ok(warnings[0]!.includes(`${dir}/tuning.json`), warnings[0]);
    assert.ok(warnings[0]!.includes(FIX), warnings[0]);
    assert.match(warnings[0]!, /projection\.parameters is missing/);
    assert.match(warnings[0]!, /scores\.parameters\.template\.ROW_BLOCKS is -1/);
  });
});

Deno.test("loadTuning() refuses every value the tuning table cannot produce", async () => {
  const cases: [string, (entry: Record<string, unknown>) => void, RegExp][] = [
    ["no template", (e) => e.parameters = { workgroupSize: 8 }, /template is missing/],
    ["negative size", (e) => e.parameters = p(-8), /workgroupSize is -8/],
    ["fractional size", (e) => e.parameters = p(8.5), /workgroupSize is 8.5/],
    ["zero size", (e) => e.parameters = p(0), /workgroupSize is 0/],
    ["huge size", (e) => e.parameters = p(1 << 20), /workgroupSize is 1048576/],
    ["string size", (e) => e.parameters = p("64"), /workgroupSize is "64"/],
    ["unknown layout", (e) => e.parameters = { ...p(8), layout: "diagonal" }, /layout/],
    ["absent from the table", (e) => e.parameters = p(32), /not a parameter set of the tuning/],
    ["foreign template value", (e) => e.parameters = p(8, { ROWS: 2 }), /not a parameter set/],
    ["another kernel's", (e) => e.kernel = "scores", /softmax\.kernel is "scores"/],
    ["stale source", (e) => e.sourceHash = "0000000000000000", /earlier version of its WGSL/],
    ["no timing", (e) => delete e.timing, /timing is missing/],
    ["bad date", (e) => e.tunedAt = "yesterday", /tunedAt is "yesterday"/],
    ["not an object", (e) => e.shape = [1000], /shape is \[1000\]/],
  ];
  function p(workgroupSize: unknown, template: Record<string, unknown> = {}) {
    return { workgroupSize, template };
  }
  await withCacheDir(async (dir) => {
    for (const [what, breakIt, expected] of cases) {
      const softmax = await goodTuning("softmax");
      breakIt(softmax);
      const { tuning, warnings } = await loadWith(dir, { softmax });
      assert.deepEqual(tuning, {}, what);
      assert.equal(warnings.length, 1, what);
      assert.match(warnings[0]!, expected, what);
    }
    // the sound entry loads, silently
    const { tuning, warnings } = await loadWith(dir, { softmax: await goodTuning("softmax") });
    assert.deepEqual(tuning.softmax?.parameters, TUNINGS.software.softmax);
    assert.deepEqual(warnings, []);
  });
});

Deno.test("loadTuning() ignores a file that is not JSON or not an object, with one warning", async () => {
  await withCacheDir(async (dir) => {
    for (const text of ["{ truncated", "[1, 2]", JSON.stringify({ [KEY]: "yes" })]) {
      await Deno.writeTextFile(`${dir}/tuning.json`, text);
      const warnings: string[] = [];
      assert.deepEqual(await loadTuning(ADAPTER, (line) => warnings.push(line)), {}, text);
      assert.equal(warnings.length, 1, text);
      assert.ok(warnings[0]!.includes(`${dir}/tuning.json`) && warnings[0]!.includes(FIX));
    }
  });
});

/** A plausible calibration of the test adapter. */
function goodCalibration(): Calibration {
  return {
    adapterKey: KEY,
    gpu: {
      matmulGflops: 30,
      matmulParameters: TUNINGS.software.projection,
      copyGBps: 12,
      timing: "timestamp-query",
    },
    cpu: { matmulGflopsOneThread: 40, threads: 2, matmulGflops: 80 },
    calibratedAt: "2026-12-01T00:00:00.000Z",
  };
}

Deno.test("loadCalibration() refuses ceilings of 0, −40 or 1e308 and missing fields, with one warning", async () => {
  const cases: [string, (c: Record<string, Record<string, unknown>>) => void, RegExp][] = [
    ["zero", (c) => c.gpu!.matmulGflops = 0, /gpu\.matmulGflops is 0/],
    ["negative", (c) => c.gpu!.matmulGflops = -40, /gpu\.matmulGflops is -40/],
    ["absurd", (c) => c.gpu!.copyGBps = 1e308, /gpu\.copyGBps is 1e\+308/],
    ["string", (c) => c.gpu!.copyGBps = "12", /gpu\.copyGBps is "12"/],
    ["no cpu", (c) => delete c.cpu, /cpu is missing/],
    ["inconsistent cpu", (c) => c.cpu!.matmulGflops = 1, /not matmulGflopsOneThread × threads/],
    ["bad parameters", (c) => c.gpu!.matmulParameters = { workgroupSize: 8 }, /template/],
    ["another adapter", (c) => (c as Record<string, unknown>).adapterKey = "x", /adapterKey/],
  ];
  await withCacheDir(async (dir) => {
    for (const [what, breakIt, expected] of cases) {
      const calibration = goodCalibration();
      breakIt(calibration as unknown as Record<string, Record<string, unknown>>);
      await Deno.writeTextFile(`${dir}/calibration.json`, JSON.stringify({ [KEY]: calibration }));
      const warnings: string[] = [];
      assert.equal(await loadCalibration(ADAPTER, (line) => warnings.push(line)), null, what);
      assert.equal(warnings.length, 1, what);
      assert.match(warnings[0]!, expected, what);
      assert.ok(warnings[0]!.includes(`${dir}/calibration.json`) && warnings[0]!.includes(FIX));
    }
    await saveCalibration(goodCalibration()); // replaces this adapter's broken entry
    const warnings: string[] = [];
    assert.deepEqual(await loadCalibration(ADAPTER, (l) => warnings.push(l)), goodCalibration());
    assert.deepEqual(warnings, []);
  });
});

Deno.test("cacheDirFor(): the project's variable, XDG_CACHE_HOME, then the platform's folder, else none", () => {
  const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
  const home = { HOME: "/home/ada" };
  assert.equal(cacheDirFor(envOf(home), "linux"), "/home/ada/.cache/self-attention-profiler");
  assert.equal(
    cacheDirFor(envOf(home), "darwin"),
    "/home/ada/Library/Caches/self-attention-profiler",
  );
  assert.equal(
    cacheDirFor(envOf({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" }), "windows"),
    "C:\\Users\\ada\\AppData\\Local/self-attention-profiler",
  );
  assert.equal(
    cacheDirFor(envOf({ ...home, XDG_CACHE_HOME: "/xdg" }), "darwin"),
    "/xdg/self-attention-profiler",
  );
  assert.equal(
    cacheDirFor(envOf({ ...home, XDG_CACHE_HOME: "/xdg", [CACHE_DIR_ENV]: "/mine" }), "linux"),
    "/mine",
  );
  assert.equal(cacheDirFor(envOf({}), "linux"), null);
  assert.equal(cacheDirFor(envOf({}), "darwin"), null);
  assert.equal(cacheDirFor(envOf(home), "windows"), null);
});
