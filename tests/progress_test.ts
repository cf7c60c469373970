/**
 * Progress without a terminal (a pipe, CI): a plain line per point, and a plain line between runs
 * whenever 30 s have passed since the last one, so a long point never leaves a log silent.
 */
import assert from "node:assert/strict";
import { ConsoleProgress } from "../src/progress.ts";

Deno.test("ConsoleProgress without a terminal prints a plain line at least every 30 s of runs", () => {
  let nowMs = 0;
  const written: string[] = [];
  const progress = new ConsoleProgress({
    interactive: false,
    nowMs: () => nowMs,
    write: (text) => written.push(text),
  });
  progress.beginPoint("gpu_naive", 10000, 3, 10);
  for (let run = 1; run <= 10; run++) {
    nowMs += 11_000; // an 11 s run: the naive GPU forward at n = 10000 on a software adapter
    progress.runDone(run);
  }
  progress.endPoint("done");
  assert.ok(written.every((text) => text.endsWith("\n") && !text.includes("\x1b")), "not plain");
  const runLines = written.filter((text) => /: run \d+ of 10/.test(text));
  assert.deepEqual(
    runLines.map((text) => /run (\d+)/.exec(text)![1]),
    ["3", "6", "9"],
    written.join(""),
  );
  assert.match(runLines[0]!, /^gpu_naive n=10000: run 3 of 10 · elapsed 33s · ETA 1m17s\n$/);
});

Deno.test("ConsoleProgress without a terminal stays quiet between runs of short points", () => {
  let nowMs = 0;
  const written: string[] = [];
  const progress = new ConsoleProgress({
    interactive: false,
    nowMs: () => nowMs,
    write: (text) => written.push(text),
  });
  for (const seqLen of [10, 100, 1000]) {
    progress.beginPoint("cpu", seqLen, 3, 20);
    for (let run = 1; run <= 20; run++) {
      nowMs += 500;
      progress.runDone(run);
    }
    progress.endPoint("done");
  }
  assert.equal(written.length, 6, written.join(""));
});

Deno.test("ConsoleProgress without a terminal prints a plain line during long warm-ups too", () => {
  let nowMs = 0;
  const written: string[] = [];
  const progress = new ConsoleProgress({
    interactive: false,
    nowMs: () => nowMs,
    write: (text) => written.push(text),
  });
  progress.beginPoint("gpu_naive", 10000, 3, 20);
  for (let warmup = 1; warmup <= 3; warmup++) {
    nowMs += 12_000;
    progress.warmupDone(warmup);
  }
  assert.deepEqual(written.slice(1), ["gpu_naive n=10000: warm-up 3 of 3 · elapsed 36s\n"]);
});
