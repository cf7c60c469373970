/**
 * A damaged tuning or calibration cache through the user's path: `profile` ignores what breaks the
 * rules with one warning line per cache file (its path and the fix), runs the GPU series with the
 * built-in parameters and exits 0. The GPU runs in child processes (one WebGPU instance each, the
 * GL fallback allowed); skipped, with a line, where WebGPU finds no adapter, unless CI=true.
 */
import assert from "node:assert/strict";
import type { ProfileResults } from "../src/results.ts";
import { childEnv, IN_CI } from "./test_gpu.ts";
import { runProfileCli } from "./task_process.ts";

const TUNING = new URL("../src/gpu/tuning.ts", import.meta.url).href;
const DEVICE = new URL("../src/gpu/device.ts", import.meta.url).href;

/** This machine's adapter key, from a child process (the tool's backends); null: no adapter. */
async function adapterKeyInChild(): Promise<string | null> {
  const script = `import { openGpu } from ${JSON.stringify(DEVICE)};
import { adapterKey } from ${JSON.stringify(TUNING)};
const gpu = await openGpu().catch(() => null);
console.log(JSON.stringify(gpu ? adapterKey(gpu.adapter) : null));
gpu?.destroy();`;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    clearEnv: true,
    env: childEnv(),
    stderr: "null",
  }).output();
  return code === 0 ? JSON.parse(new TextDecoder().decode(stdout)) : null;
}

const KEY = await adapterKeyInChild();
if (KEY === null && !IN_CI) {
  console.log("profile cache tests skipped: WebGPU found no adapter in a child process");
}

Deno.test({
  name: "profile ignores a damaged tuning and calibration cache with one warning each, and exits 0",
  ignore: KEY === null && !IN_CI,
  async fn() {
    if (KEY === null) throw new Error("CI=true but WebGPU found no GPU adapter");
    const dir = await Deno.makeTempDir({ prefix: "profile_cache_" });
    try {
      const tuning = (kernel: string, parameters: unknown) => ({
        kernel,
        sourceHash: "ignored: the parameters are checked first",
        parameters,
        candidates: [],
        final: [],
        shape: { seqLen: 1000, dModel: 512, heads: 8 },
        timing: "timestamp-query",
        tunedAt: "2026-12-01T00:00:00.000Z",
      });
      await Deno.writeTextFile(
        `${dir}/tuning.json`,
        JSON.stringify({
          [KEY]: {
            projection: tuning("projection", { workgroupSize: 8 }), // no template
            flash_attention: tuning("flash_attention", { workgroupSize: 2048, template: {} }),
            softmax: tuning("softmax", { workgroupSize: "64", template: {} }),
          },
        }),
      );
      await Deno.writeTextFile(
        `${dir}/calibration.json`,
        JSON.stringify({ [KEY]: { adapterKey: KEY, gpu: { matmulGflops: 0, copyGBps: -40 } } }),
      );
      const out = `${dir}/out`;
      const result = await runProfileCli([
        "--devices=gpu",
        "--seq-lens=10",
        "--d-model=32",
        "--heads=4",
        "--runs=2",
        "--warmup=1",
        "--quiet",
        `--out=${out}`,
      ], {
        clearEnv: true,
        env: childEnv({ SELF_ATTENTION_PROFILER_CACHE_DIR: dir }),
      });
      const stderr = result.stderr;
      const stdout = result.stdout;
      assert.equal(result.code, 0, stderr);
      const lines = stderr.split("\n").filter((line) => line.trim() !== "");
      const about = (file: string) => lines.filter((line) => line.includes(`${dir}/${file}`));
      for (const file of ["tuning.json", "calibration.json"]) {
        assert.equal(about(file).length, 1, `one line about ${file}:\n${stderr}`);
        assert.match(about(file)[0]!, /deno task calibrate --tune/);
      }
      assert.match(about("tuning.json")[0]!, /projection, softmax, flash_attention/);
      assert.doesNotMatch(stdout, /Infinity|NaN %/);
      const results: ProfileResults = JSON.parse(
        await Deno.readTextFile(`${out}/profiling_results.json`),
      );
      assert.equal(results.calibration, undefined);
      assert.equal(results.tunedKernelParameters, undefined);
      const gpuPoints = results.series.filter((s) => s.device === "gpu").flatMap((s) => s.points);
      assert.equal(gpuPoints.length, 2);
      assert.ok(gpuPoints.every((p) => p.status === "ok"), JSON.stringify(gpuPoints));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
