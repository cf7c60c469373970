import assert from "node:assert/strict";
import { attentionFlops, stageFlops } from "../src/flops.ts";
import { scoreMatrixElements, theoreticalMemory } from "../src/memory.ts";

Deno.test("attentionFlops() follows the seed's MAC formulas for the default config", () => {
  for (const n of [10, 100, 1000, 10000]) {
    const d = 512, h = 8, dK = 64;
    const work = attentionFlops({ seqLen: n, dModel: d, heads: h });
    assert.equal(work.macsByStage.projection_qkv, 3 * n * d * d);
    assert.equal(work.macsByStage.scores, n * n * dK * h);
    assert.equal(work.macsByStage.weighted_values, n * n * dK * h);
    assert.equal(work.macsByStage.output_projection, n * d * d);
    assert.equal(work.totalMacs, 4 * n * d * d + 2 * n * n * d);
    // 2 FLOPs per MAC, + 1 per score for the scale, + 5 per score for the softmax
    assert.equal(work.totalFlops, 2 * work.totalMacs + 6 * n * n * h);
  }
});

Deno.test("stageFlops() gives the fused stage the work of the three stages it replaces", () => {
  const work = attentionFlops({ seqLen: 300, dModel: 96, heads: 3 });
  const f = work.flopsByStage;
  assert.equal(stageFlops(work, "flash_attention"), f.scores! + f.softmax! + f.weighted_values!);
  assert.equal(stageFlops(work, "projection_qkv"), f.projection_qkv);
  assert.throws(() => stageFlops(work, "nonsense"));
});

Deno.test("theoreticalMemory() counts scores only for the heads held at once", () => {
  const shape = { seqLen: 1000, dModel: 512, heads: 8 };
  const naive = theoreticalMemory(shape, 8 * 1000 * 1000);
  const fused = theoreticalMemory(shape, 0);
  assert.equal(naive.bytesByClass.scores, 4 * 8 * 1000 * 1000);
  assert.equal(fused.bytesByClass.scores, 0);
  assert.equal(fused.bytesByClass.weights, 4 * (4 * 512 * 512 + 4 * 512));
  assert.equal(naive.totalBytes - fused.totalBytes, 32e6);
});

Deno.test("attentionFlops() counts the unmasked scores exactly, and batch and kv_heads", () => {
  const base = { seqLen: 100, dModel: 64, heads: 4 };
  const full = attentionFlops(base);
  const causal = attentionFlops({ ...base, mask: "causal" });
  assert.equal(causal.macsByStage.scores, 100 * 101 / 2 * 16 * 4);
  assert.equal(causal.macsByStage.projection_qkv, full.macsByStage.projection_qkv);
  const sliding = attentionFlops({ ...base, mask: "sliding", window: 10 });
  // queries 0…9 see 1…10 keys, the other 90 see 10
  assert.equal(sliding.macsByStage.weighted_values, (55 + 90 * 10) * 16 * 4);
  const gqa = attentionFlops({ ...base, kvHeads: 1 });
  assert.equal(gqa.macsByStage.projection_qkv, 100 * 64 * (64 + 2 * 16));
  const batched = attentionFlops({ ...base, batch: 3 });
  assert.equal(batched.totalFlops, 3 * full.totalFlops);
});

Deno.test("theoreticalMemory() of linear attention holds no scores on any path", () => {
  const linear = { seqLen: 4096, dModel: 512, heads: 8, attention: "linear" as const };
  assert.equal(scoreMatrixElements(linear), 0);
  assert.equal(scoreMatrixElements({ ...linear, attention: "softmax" }), 4096 * 4096);
});
