/**
 * A point's warm-up lasts at least MIN_WARMUP_MS (src/profile_points.ts), so short points are
 * timed warm, unless `--warmup 0`: through runProfile, as the CLI calls it, on the CPU path.
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG, type ProfileConfig } from "../src/config.ts";
import { SEED_GRID } from "../src/configuration.ts";
import { runProfile } from "../src/profile.ts";
import { MIN_WARMUP_MS } from "../src/profile_points.ts";
import { type ProgressReporter } from "../src/progress.ts";

/** Records, per point, its warm-up runs and the time from its start to its first timed run. */
class WarmupRecorder implements ProgressReporter {
  readonly points: { warmups: number; untilFirstRunMs: number }[] = [];
  #startMs = 0;
  beginPoint(): void {
    this.#startMs = performance.now();
    this.points.push({ warmups: 0, untilFirstRunMs: NaN });
  }
  warmupDone(): void {
    this.points.at(-1)!.warmups++;
  }
  runDone(run: number): void {
    if (run === 1) this.points.at(-1)!.untilFirstRunMs = performance.now() - this.#startMs;
  }
  endPoint(): void {}
  warn(message: string): void {
    throw new Error(`unexpected warning: ${message}`);
  }
}

async function profileWarmups(warmup: number): Promise<WarmupRecorder["points"]> {
  const config: ProfileConfig = {
    ...DEFAULT_CONFIG,
    seqLens: [10],
    dModel: 32,
    heads: 2,
    grid: { ...SEED_GRID, dModel: [32], heads: [2], pass: ["forward", "backward"] },
    devices: ["cpu"],
    runs: 2,
    warmup,
    quiet: true,
  };
  const progress = new WarmupRecorder();
  await runProfile(config, {
    progress,
    interruption: new AbortController().signal,
    gpu: null,
    availableMemoryBytes: () => 2 ** 34,
  });
  return progress.points;
}

Deno.test("a short point warms up for MIN_WARMUP_MS, however few --warmup runs it asks", async () => {
  const points = await profileWarmups(1);
  assert.equal(points.length, 2); // forward and backward
  for (const point of points) {
    // n = 10 runs in well under a millisecond or two: one run could not fill the time
    assert.ok(point.warmups > 1, `${point.warmups} warm-up runs`);
    assert.ok(point.untilFirstRunMs >= MIN_WARMUP_MS, `${point.untilFirstRunMs} ms`);
  }
});

Deno.test("--warmup 0 times a point without any warm-up run", async () => {
  for (const point of await profileWarmups(0)) assert.equal(point.warmups, 0);
});
