import assert from "node:assert/strict";
import { GpuAttention, MAX_FUSED_HEAD_WIDTH } from "../src/gpu/gpu_attention.ts";
import { fakeGpuContext } from "./fake_gpu.ts";

Deno.test("GpuAttention.preflight() skips a point over the memory budget with bytes needed vs allowed", () => {
  const ctx = fakeGpuContext({ limits: {}, memoryBudgetBytes: 24 * 2 ** 20 });
  const shape = { seqLen: 1024, dModel: 512, heads: 8 };
  const naive = GpuAttention.preflight(ctx, "naive", shape);
  assert.ok(!naive.fits);
  assert.deepStrictEqual(naive.bytesAllowed, 24 * 2 ** 20);
  // 8 heads × 1024 × 1024 scores of 4 bytes, besides weights and activations
  assert.ok(naive.bytesNeeded > 8 * 1024 * 1024 * 4);
  assert.match(naive.reason, /GiB of GPU buffers, more than the .* allowed/);
  const fused = GpuAttention.preflight(ctx, "fused", shape);
  assert.ok(fused.fits);
  assert.ok(fused.bytesNeeded < 24 * 2 ** 20);
});

Deno.test("GpuAttention.preflight() skips a buffer larger than a fake small binding limit", () => {
  const ctx = fakeGpuContext({
    limits: { maxStorageBufferBindingSize: 2 ** 20 },
    memoryBudgetBytes: Infinity,
  });
  // x, q, k, v are [n, 64] floats: 1 MiB at n = 4096
  assert.ok(GpuAttention.preflight(ctx, "fused", { seqLen: 4096, dModel: 64, heads: 4 }).fits);
  const result = GpuAttention.preflight(ctx, "fused", { seqLen: 4097, dModel: 64, heads: 4 });
  assert.ok(!result.fits);
  assert.match(result.reason, /exceeds the largest storage binding \(1048576 bytes\)/);
  // the naive scores are windowed under the limit, so they do not stop the point by themselves
  assert.ok(GpuAttention.preflight(ctx, "naive", { seqLen: 300, dModel: 64, heads: 4 }).fits);
});

Deno.test("GpuAttention.preflight() says why a head width the kernels cannot read is skipped", () => {
  const ctx = fakeGpuContext({ limits: {}, memoryBudgetBytes: Infinity });
  const result = GpuAttention.preflight(ctx, "naive", { seqLen: 10, dModel: 30, heads: 3 });
  assert.ok(!result.fits);
  assert.match(result.reason, /d_k = d_model \/ heads = 10 must be a multiple of 4/);
  const indivisible = GpuAttention.preflight(ctx, "fused", { seqLen: 10, dModel: 64, heads: 3 });
  assert.ok(!indivisible.fits);
  assert.match(indivisible.reason, /not divisible/);
});

Deno.test("GpuAttention.preflight() rejects a dispatch larger than the workgroup limit", () => {
  const ctx = fakeGpuContext({
    limits: { maxComputeWorkgroupsPerDimension: 4 },
    memoryBudgetBytes: Infinity,
  });
  const result = GpuAttention.preflight(ctx, "fused", { seqLen: 4096, dModel: 64, heads: 1 });
  assert.ok(!result.fits);
  assert.match(result.reason, /workgroups in one dimension/);
});

Deno.test("GpuAttention.preflight() refuses the fused kernel for a head wider than it unrolls", () => {
  const ctx = fakeGpuContext();
  const wide = { seqLen: 10, dModel: 4 * MAX_FUSED_HEAD_WIDTH, heads: 2 }; // d_k = 2 × the cap
  const fused = GpuAttention.preflight(ctx, "fused", wide);
  assert.ok(!fused.fits);
  assert.match(fused.reason, /d_k = 256 is over its 128/);
  assert.ok(GpuAttention.preflight(ctx, "naive", wide).fits, "naive has no such limit");
  const atCap = { seqLen: 10, dModel: 2 * MAX_FUSED_HEAD_WIDTH, heads: 2 };
  assert.ok(GpuAttention.preflight(ctx, "fused", atCap).fits);
});

Deno.test("GpuAttention.preflight() fits flash tiles to the workgroup memory, or skips them", () => {
  const ctx = (limit: number) =>
    fakeGpuContext({
      limits: { maxComputeWorkgroupStorageSize: limit },
      memoryBudgetBytes: Infinity,
    });
  const shape = { seqLen: 100, dModel: 256, heads: 2 }; // d_k = 128: 32 vec4 per key
  const flash = {
    workgroupSize: 64,
    layout: "workgroup-tiles" as const,
    template: { QUERY_BLOCKS: 1, KEY_BLOCKS: 1, TILE_KEYS: 32 },
  };
  const options = { parameters: { flash_attention: flash } };
  // k and v tiles of 32 keys: 2 × 32 × 32 vec4 × 16 bytes = 32 KiB; halved to 16 keys, 16 KiB
  assert.ok(GpuAttention.preflight(ctx(16384), "fused", shape, options).fits);
  // 4 keys (one step) need 4 KiB: no smaller tile exists
  const over = GpuAttention.preflight(ctx(2048), "fused", shape, options);
  assert.ok(!over.fits);
  assert.match(over.reason, /4096 bytes of workgroup memory exceed the device's 2048/);
});

Deno.test("GpuAttention.preflight() refuses workgroup tiles whose lanes do not make the workgroup", () => {
  const projection = {
    workgroupSize: 64,
    layout: "workgroup-tiles" as const,
    template: { ROW_BLOCKS: 1, COL_BLOCKS: 1, ROW_LANES: 8, COL_LANES: 4, TILE_INNER: 4 },
  };
  const result = GpuAttention.preflight(fakeGpuContext(), "fused", {
    seqLen: 10,
    dModel: 64,
    heads: 2,
  }, { parameters: { projection } });
  assert.ok(!result.fits);
  assert.match(result.reason, /ROW_LANES × COL_LANES = 32 is not the workgroup size 64/);
});

Deno.test("GpuAttention.preflight() refuses a variant on an attention it does not compute", () => {
  const ctx = fakeGpuContext({ limits: {}, memoryBudgetBytes: Infinity });
  const softmax = { seqLen: 10, dModel: 32, heads: 4 };
  const linear = { ...softmax, attention: "linear" as const };
  const refused = GpuAttention.preflight(ctx, "linear", softmax);
  assert.ok(!refused.fits);
  assert.match(refused.reason, /runs linear attention, not softmax/);
  assert.ok(!GpuAttention.preflight(ctx, "fused", linear).fits);
  assert.ok(!GpuAttention.preflight(ctx, "linear", { ...linear, mask: "sliding", window: 3 }).fits);
  assert.ok(GpuAttention.preflight(ctx, "linear", linear).fits);
  assert.ok(GpuAttention.preflight(ctx, "naive", { ...softmax, mask: "causal", batch: 2 }).fits);
});
