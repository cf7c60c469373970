import assert from "node:assert/strict";
import { CPU_MEMORY_HEADROOM, cpuPreflight } from "../src/preflight.ts";
import { theoreticalMemory } from "../src/memory.ts";
import { CPU_SCORE_HEADS_LIVE } from "../src/reference/cpu_attention.ts";

Deno.test("cpuPreflight() skips a point larger than a fake small memory, with its reason", () => {
  const shape = { seqLen: 4096, dModel: 512, heads: 8 };
  const needed = theoreticalMemory(shape, CPU_SCORE_HEADS_LIVE).totalBytes * CPU_MEMORY_HEADROOM;
  const tooSmall = cpuPreflight(shape, needed / 2);
  assert.equal(tooSmall.fits, false);
  if (!tooSmall.fits) {
    assert.equal(tooSmall.bytesAvailable, needed / 2);
    assert.match(tooSmall.reason, /needs ~[\d.]+ GiB of memory, [\d.]+ GiB available/);
  }
  assert.equal(cpuPreflight(shape, needed * 2).fits, true);
});

Deno.test("cpuPreflight() needs more memory as n grows, quadratically at large n", () => {
  const needed = (seqLen: number) =>
    cpuPreflight({ seqLen, dModel: 512, heads: 8 }, Infinity).bytesNeeded;
  assert.ok(needed(20000) > 3.5 * needed(10000));
  assert.ok(needed(100) < needed(200));
});
