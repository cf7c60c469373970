/**
 * Faults in the middle of a profile: a GPU error stops that series (its remaining points fail with
 * the message) while the others go on; a lost device fails every later GPU point; an output that
 * does not match the CPU path is failed and never timed. The GPU is a stand-in here, so these run
 * without an adapter.
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type ProfileConfig, type VariantName } from "../src/config.ts";
import type { GpuContext } from "../src/gpu/device.ts";
import { fakeGpuContext } from "./fake_gpu.ts";
import { type GpuForward, type GpuForwardFactory, runProfile } from "../src/profile.ts";
import { QuietProgress } from "../src/progress.ts";
import { cpuAttentionForward } from "../src/reference/cpu_attention.ts";
import type { ProfileResults, SeriesName } from "../src/results.ts";
import type { AttentionInputs, AttentionShape } from "../src/shape.ts";

const CONFIG: ProfileConfig = {
  ...DEFAULT_CONFIG,
  seqLens: [10, 100, 200],
  dModel: 32,
  heads: 2,
  runs: 2,
  warmup: 0,
  quiet: true,
};

/** A GPU forward computed by the CPU path; `fault` decides, per variant and n, what goes wrong. */
function standInForwards(
  fault: (variant: VariantName, shape: AttentionShape) => "none" | "throw" | "wrong",
): GpuForwardFactory {
  return {
    preflight: () => ({ fits: true, bytesNeeded: 0 }),
    create(_gpu, variant, shape): Promise<GpuForward> {
      let inputs: AttentionInputs | null = null;
      const kind = fault(variant, shape);
      return Promise.resolve({
        stageNames: ["projection_qkv", "attention", "output_projection"],
        upload(given: AttentionInputs) {
          inputs = given;
          return Promise.resolve(1);
        },
        forward() {
          if (kind === "throw") {
            return Promise.reject(new Error("GPU validation error: stand-in fault"));
          }
          return Promise.resolve({ wallMs: 1, stageMs: [0.2, 0.5, 0.2] });
        },
        async readback() {
          const out = await cpuAttentionForward(inputs!, { workers: 1 });
          if (kind === "wrong") out[0]! += 1;
          return { out, readbackMs: 1 };
        },
        memory: () => ({ peakBytes: 1, peakBytesByClass: { activations: 1 } }),
        destroy() {},
      });
    },
  };
}

async function profileWith(
  gpu: GpuContext,
  gpuForwards: GpuForwardFactory,
): Promise<ProfileResults> {
  return await runProfile(CONFIG, {
    progress: new QuietProgress(),
    interruption: new AbortController().signal,
    gpu,
    gpuForwards,
    availableMemoryBytes: () => 2 ** 34,
  });
}

function statuses(results: ProfileResults, name: SeriesName): string[] {
  return results.series.find((s) => s.name === name)!.points.map((p) => p.status);
}

Deno.test("runProfile() fails a faulted GPU series' remaining points and runs the others", async () => {
  const results = await profileWith(
    fakeGpuContext(),
    standInForwards((variant, shape) =>
      variant === "naive" && shape.seqLen === 100 ? "throw" : "none"
    ),
  );
  assert.deepEqual(statuses(results, "cpu"), ["ok", "ok", "ok"]);
  assert.deepEqual(statuses(results, "gpu_fused"), ["ok", "ok", "ok"]);
  assert.deepEqual(statuses(results, "gpu_naive"), ["ok", "failed", "failed"]);
  const naive = results.series.find((s) => s.name === "gpu_naive")!;
  for (const point of naive.points.slice(1)) {
    assert.match(point.reason!, /stand-in fault/);
    assert.deepEqual(point.wallMs, []);
  }
  assert.equal(naive.points[0]!.wallMsSummary?.count, 2);
  // timing fidelity: the stage sum per run and the empty-submission overhead are recorded
  assert.deepEqual(naive.points[0]!.kernelSumMs, [0.2 + 0.5 + 0.2, 0.2 + 0.5 + 0.2]);
  assert.equal(naive.points[0]!.submitOverheadMs?.length, 5);
});

Deno.test("runProfile() fails every GPU point after the device is lost", async () => {
  let loseDevice = (_message: string) => {};
  const lost = new Promise<string>((resolve) => loseDevice = resolve);
  const forwards = standInForwards(() => "none");
  const results = await profileWith(fakeGpuContext({ lost }), {
    preflight: forwards.preflight,
    async create(gpu, variant, shape) {
      const attention = await forwards.create(gpu, variant, shape);
      if (shape.seqLen === 10 && variant === "fused") loseDevice("stand-in loss");
      return attention;
    },
  });
  assert.deepEqual(statuses(results, "cpu"), ["ok", "ok", "ok"]);
  for (const name of ["gpu_naive", "gpu_fused"] as const) {
    const points = results.series.find((s) => s.name === name)!.points;
    assert.deepEqual(points.map((p) => p.status), ["ok", "failed", "failed"], name);
    assert.match(points[2]!.reason!, /device lost: stand-in loss/);
  }
});

Deno.test("runProfile() never times an output that does not match the CPU path", async () => {
  const results = await profileWith(
    fakeGpuContext(),
    standInForwards((variant, shape) =>
      variant === "fused" && shape.seqLen === 100 ? "wrong" : "none"
    ),
  );
  const fused = results.series.find((s) => s.name === "gpu_fused")!;
  assert.deepEqual(fused.points.map((p) => p.status), ["ok", "failed", "ok"]);
  const failed = fused.points[1]!;
  assert.equal(failed.validation?.passed, false);
  assert.deepEqual(failed.wallMs, []);
  assert.equal(failed.wallMsSummary, undefined);
  assert.match(failed.reason!, /does not match the CPU path/);
  assert.ok(fused.points[2]!.validation!.relL2Error < 1e-6);
});
