import assert from "node:assert/strict";
import { CPU_MEMORY_HEADROOM, cpuPreflight, cpuUnsupported } from "../src/preflight.ts";
import { resolveShape } from "../src/shape.ts";
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

Deno.test("cpuPreflight() grows with one head's n² scores: second difference 2·4·n²·headroom", () => {
  const needed = (seqLen: number) =>
    cpuPreflight({ seqLen, dModel: 512, heads: 8 }, Infinity, 2).bytesNeeded;
  // f(3n) − 2·f(2n) + f(n) = 2·a·n² for f(n) = a·n² + b·n + c: only the quadratic term is left
  const n = 10000;
  const secondDifference = needed(3 * n) - 2 * needed(2 * n) + needed(n);
  const expected = 2 * 4 * n * n * CPU_MEMORY_HEADROOM;
  assert.ok(
    Math.abs(secondDifference - expected) / expected < 0.01,
    `${secondDifference} vs ${expected}`,
  );
  assert.ok(needed(100) < needed(200));
});

Deno.test("cpuPreflight() of a sliding window or linear attention grows linearly in n", () => {
  const base = { dModel: 512, heads: 8 };
  const n = 10000;
  for (const shape of [{ mask: "sliding", window: 256 }, { attention: "linear" }] as const) {
    const needed = (seqLen: number) =>
      cpuPreflight({ ...base, ...shape, seqLen }, Infinity, 2).bytesNeeded;
    const secondDifference = needed(3 * n) - 2 * needed(2 * n) + needed(n);
    // alignment padding only: far below the 8·n²·headroom bytes of full attention's scores
    assert.ok(Math.abs(secondDifference) < 1e5, `${JSON.stringify(shape)}: ${secondDifference}`);
    assert.ok(needed(2 * n) > needed(n));
  }
});

Deno.test("cpuUnsupported() refuses linear attention with a sliding mask only", () => {
  const base = { seqLen: 64, dModel: 64, heads: 4 };
  const linearSliding = { ...base, mask: "sliding", window: 8, attention: "linear" } as const;
  assert.match(cpuUnsupported(resolveShape(linearSliding)) ?? "", /full and causal masks only/);
  for (
    const shape of [
      base,
      { ...base, batch: 3, kvHeads: 1, mask: "causal" },
      { ...base, mask: "sliding", window: 8 },
      { ...base, mask: "causal", attention: "linear" },
    ] as const
  ) {
    assert.equal(cpuUnsupported(resolveShape(shape)), null, JSON.stringify(shape));
  }
});
