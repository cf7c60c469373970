import assert from "node:assert/strict";
import { CPU_MEMORY_HEADROOM, cpuPreflight } from "../src/preflight.ts";
import { planLayout } from "../src/reference/memory_layout.ts";

Deno.test("cpuPreflight() skips a point larger than a fake small memory, with its reason", () => {
  const shape = { seqLen: 4096, dModel: 512, heads: 8 };
  const needed = planLayout(shape, 2).totalBytes * CPU_MEMORY_HEADROOM;
  const tooSmall = cpuPreflight(shape, needed / 2, 2);
  assert.equal(tooSmall.fits, false);
  if (!tooSmall.fits) {
    assert.equal(tooSmall.bytesAvailable, needed / 2);
    assert.match(tooSmall.reason, /needs ~[\d.]+ GiB of memory, [\d.]+ GiB available/);
  }
  assert.equal(cpuPreflight(shape, needed * 2, 2).fits, true);
});

Deno.test("cpuPreflight() refuses a length over the CPU path's 4 GiB memory, whatever is free", () => {
  const fit = cpuPreflight({ seqLen: 40000, dModel: 512, heads: 8 }, 2 ** 50, 2);
  assert.equal(fit.fits, false);
  if (!fit.fits) assert.match(fit.reason, /4 GiB/);
});

Deno.test("cpuPreflight() needs more memory as n grows, quadratically at large n", () => {
  const needed = (seqLen: number) =>
    cpuPreflight({ seqLen, dModel: 512, heads: 8 }, Infinity, 2).bytesNeeded;
  assert.ok(needed(20000) > 3.5 * needed(10000));
  assert.ok(needed(100) < needed(200));
});
