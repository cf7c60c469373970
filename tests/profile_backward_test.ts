/**
 * `--pass backward` through the profile (runProfile, as the CLI calls it), CPU only: a backward
 * series times the backward apart from the forward run before it, counts what the forward kept in
 * its peak memory, and its FLOPs table holds the backward's stages. (The GPU backward through the
 * profile: tests/gpu_flash_backward_test.ts.)
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type ProfileConfig } from "../src/config.ts";
import { expandGrid, SEED_GRID, shapeOf } from "../src/configuration.ts";
import { type AttentionGradients, GRADIENTS } from "../src/gradients.ts";
import { TensorDumps, tensorsFileName } from "../src/io/tensors_file.ts";
import { generateInputs, generateUpstreamGradient } from "../src/random.ts";
import { runProfile } from "../src/profile.ts";
import { QuietProgress } from "../src/progress.ts";
import { BACKWARD_STAGES } from "../src/variants/stages.ts";

const CONFIG: ProfileConfig = {
  ...DEFAULT_CONFIG,
  seqLens: [10, 70],
  dModel: 32,
  heads: 2,
  grid: { ...SEED_GRID, dModel: [32], heads: [2], pass: ["forward", "backward"] },
  runs: 2,
  warmup: 0,
  quiet: true,
};

Deno.test("runProfile() with pass backward times the CPU backward beside its forward", async () => {
  const results = await runProfile(CONFIG, {
    progress: new QuietProgress(),
    interruption: new AbortController().signal,
    gpu: null,
    availableMemoryBytes: () => 2 ** 34,
  });
  const byPass = (pass: string) =>
    results.series.filter((s) => s.configurationId?.endsWith(`_${pass}`));
  const [forward, backward] = [byPass("forward"), byPass("backward")];
  const cpuForward = forward.find((s) => s.device === "cpu")!;
  const cpuBackward = backward.find((s) => s.device === "cpu")!;
  for (const [i, point] of cpuBackward.points.entries()) {
    assert.equal(point.status, "ok");
    assert.equal(point.wallMs.length, 2);
    assert.equal(point.forwardWallMs?.length, 2);
    assert.equal(point.forwardWallMsSummary?.count, 2);
    // the backward's peak holds the forward's buffers and its own
    assert.ok(point.memory!.peakBytes > cpuForward.points[i]!.memory!.peakBytes);
    assert.ok(point.memory!.peakBytesByClass.gradients! > 0);
  }
  assert.equal(cpuForward.points[0]!.forwardWallMs, undefined);
  const backwardFlops = results.flops.find((f) =>
    f.configurationId === cpuBackward.configurationId && f.seqLen === 70
  )!;
  assert.deepEqual(Object.keys(backwardFlops.macsByStage), BACKWARD_STAGES.map((s) => s.name));
});

Deno.test("TensorDumps puts both passes of a configuration in one file, the backward's named apart", () => {
  const grid = { ...SEED_GRID, dModel: [8], heads: [2], pass: ["forward", "backward"] as const };
  const [forward, backward] = expandGrid({ ...grid, pass: [...grid.pass] }).configurations;
  const shape = shapeOf(forward!, 3);
  const inputs = generateInputs(shape, 1), dOut = generateUpstreamGradient(shape, 1);
  const gradients = Object.fromEntries(
    GRADIENTS.map(({ name }) => [name, new Float32Array(1)]),
  ) as unknown as AttentionGradients;
  const dumps = new TensorDumps();
  const out = new Float32Array(24);
  const pass = { severalConfigurations: true, inputs, outputs: new Map([["cpu", out]]) };
  dumps.add({ ...pass, configuration: forward! });
  const both = dumps.add({
    ...pass,
    configuration: backward!,
    backward: { dOut, gradients: new Map([["cpu", gradients]]) },
  });
  assert.deepEqual([...both.outputs.keys()], ["cpu", "cpu_backward"]);
  assert.deepEqual([...both.backward!.gradients.keys()], ["cpu_backward"]);
  assert.equal(tensorsFileName(3, backward!), tensorsFileName(3, forward!));
  assert.match(tensorsFileName(3, backward!), /_forward_n3\.npz$/);
});
