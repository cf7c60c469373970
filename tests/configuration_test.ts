import assert from "node:assert/strict";
import { expandGrid, parseMask, SEED_GRID, shapeOf } from "../src/configuration.ts";
import { planSeries, seriesName } from "../src/profile_series.ts";
import { DEFAULT_CONFIG } from "../src/config.ts";
import { fakeGpuContext } from "./fake_gpu.ts";
import { keyRange, unmaskedScores } from "../src/shape.ts";
import { isSeriesName } from "../src/variants/registry.ts";

Deno.test("expandGrid() of the seed grid is the seed's one configuration", () => {
  const { configurations, impossible } = expandGrid(SEED_GRID);
  assert.equal(impossible.length, 0);
  assert.deepEqual(configurations, [{
    id: "b1_d512_h8_kv8_full_softmax_forward",
    batch: 1,
    dModel: 512,
    heads: 8,
    kvHeads: 8,
    dK: 64,
    mask: "full",
    window: 0,
    attention: "softmax",
    pass: "forward",
  }]);
});

Deno.test("expandGrid() runs every combination and records each impossible cell with why", () => {
  const { configurations, impossible } = expandGrid({
    ...SEED_GRID,
    heads: [8, 4],
    kvHeads: [8, 2],
    mask: ["full", "sliding:16"],
    attention: ["softmax", "linear"],
  });
  // heads 4 with kv_heads 8 is impossible; linear with sliding too
  assert.equal(configurations.length + impossible.length, 2 * 2 * 2 * 2);
  assert.ok(impossible.some((cell) => /kv_heads 8 do not divide heads 4/.test(cell.reason)));
  assert.ok(impossible.some((cell) => /linear attention has no sliding window/.test(cell.reason)));
  assert.ok(configurations.every((c) => c.heads % c.kvHeads === 0));
  assert.equal(new Set(configurations.map((c) => c.id)).size, configurations.length);
  const sliding = configurations.find((c) => c.mask === "sliding:16")!;
  assert.equal(sliding.window, 16);
  assert.match(sliding.id, /_sliding16_/);
  assert.equal(shapeOf(sliding, 100).mask, "sliding");
});

Deno.test("parseMask() takes full, causal and sliding:W with W a positive integer only", () => {
  assert.deepEqual(parseMask("sliding:256"), { mask: "sliding", window: 256 });
  for (const bad of ["diagonal", "sliding:0", "sliding:x", "sliding:", "sliding:-1", "Causal"]) {
    assert.equal(parseMask(bad), null, bad);
  }
});

Deno.test("keyRange() and unmaskedScores() agree for every mask near the sequence start", () => {
  for (const mask of ["full", "causal", "sliding"] as const) {
    for (const n of [1, 2, 5, 17]) {
      const shape = { seqLen: n, dModel: 8, heads: 1, mask, window: 3 };
      let count = 0;
      for (let i = 0; i < n; i++) {
        const [first, end] = keyRange(shape, i);
        assert.ok(first >= 0 && end <= n && first < end, `${mask} n=${n} i=${i}`);
        count += end - first;
      }
      assert.equal(unmaskedScores(shape), count, `${mask} n=${n}`);
    }
  }
});

Deno.test("series names: the implementation alone, or with the configuration in a grid", () => {
  const [configuration] = expandGrid(SEED_GRID).configurations;
  const fused = { device: "gpu" as const, variant: "fused" as const, precision: "f16" as const };
  assert.equal(seriesName(fused, configuration!, false), "gpu_fused_f16");
  const named = seriesName(fused, configuration!, true);
  assert.equal(named, "gpu_fused_f16__b1_d512_h8_kv8_full_softmax_forward");
  assert.ok(isSeriesName(named) && isSeriesName("cpu"));
  assert.ok(!isSeriesName("gpu_slow") && !isSeriesName("cpu__a__b"));
});

Deno.test("planSeries(): --variants for softmax configurations, the linear variant for linear", () => {
  const { configurations } = expandGrid({ ...SEED_GRID, attention: ["softmax", "linear"] });
  const gpu = fakeGpuContext();
  const names = configurations.map((configuration) =>
    planSeries(configuration, { ...DEFAULT_CONFIG, precisions: ["f32", "f16"] }, gpu, false)
      .map((plan) => plan.implementationName)
  );
  assert.deepEqual(names, [
    ["cpu", "gpu_naive", "gpu_naive_f16", "gpu_fused", "gpu_fused_f16"],
    ["cpu", "gpu_linear", "gpu_linear_f16"],
  ]);
});
