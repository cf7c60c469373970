/**
 * The GPU path without a Vulkan driver: with the Vulkan drivers hidden (VK_DRIVER_FILES) and no
 * DENO_WEBGPU_BACKEND, a profile falls back to GL and says so in its series labels, its JSON, its
 * report and its figure captions. Each run is a fresh process with one WebGPU instance (see
 * tests/test_gpu.ts for why the test process itself never uses GL). Skipped, with a line, where
 * Mesa's GL driver finds no adapter either.
 */
import assert from "node:assert/strict";
import type { ProfileResults } from "../src/results.ts";
import { runProfileCli } from "./task_process.ts";

/** This process's environment without the user's backend choice, the Vulkan drivers hidden. */
function noVulkanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.DENO_WEBGPU_BACKEND;
  return {
    ...env,
    VK_DRIVER_FILES: "/nonexistent.json",
    VK_ICD_FILENAMES: "/nonexistent.json",
    NO_COLOR: "1",
    ...extra,
  };
}

/** Whether GL finds an adapter with Vulkan hidden, in a child process. */
async function glFindsAdapter(): Promise<boolean> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "console.log(!!(await navigator.gpu?.requestAdapter()))"],
    clearEnv: true,
    env: noVulkanEnv({ DENO_WEBGPU_BACKEND: "gl" }),
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).trim() === "true";
}

const HAS_GL = await glFindsAdapter();
if (!HAS_GL) console.log("GL fallback test skipped: with Vulkan hidden, GL finds no adapter");

Deno.test({
  name: "profile without a Vulkan driver falls back to GL and labels its GPU series gl",
  ignore: !HAS_GL,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gl_fallback_" });
    try {
      const out = `${dir}/out`;
      const result = await runProfileCli([
        "--seq-lens=10,24",
        "--d-model=32",
        "--heads=4",
        "--runs=2",
        "--warmup=1",
        "--quiet",
        `--out=${out}`,
      ], {
        clearEnv: true,
        env: noVulkanEnv({ SELF_ATTENTION_PROFILER_CACHE_DIR: `${dir}/cache` }),
      });
      const stdout = result.stdout;
      assert.equal(result.code, 0, result.stderr);
      const results: ProfileResults = JSON.parse(
        await Deno.readTextFile(`${out}/profiling_results.json`),
      );
      const adapter = results.environment.adapter;
      assert.equal(adapter?.backend, "gl");
      assert.equal(adapter?.backendSource, "gl-fallback");
      const gpuSeries = results.series.filter((series) => series.device === "gpu");
      assert.deepEqual(gpuSeries.map((series) => series.name), ["gpu_naive", "gpu_fused"]);
      for (const series of gpuSeries) {
        assert.match(series.label, /, gl backend\)$/);
        assert.ok(series.points.every((point) => point.status === "ok"), series.name);
      }
      assert.match(stdout, /WebGPU backend gl \(fallback: the native backends found no adapter\)/);
      for (const figure of ["self_attention_profiling.svg", "kernel_breakdown.svg"]) {
        const svg = await Deno.readTextFile(`${out}/${figure}`);
        assert.match(svg, /\[gl \(fallback: the native backends found no adapter\)\]/, figure);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
