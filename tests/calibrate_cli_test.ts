/**
 * `deno task calibrate` whose cache folder cannot be written: minutes of measurement are not lost.
 * The numbers are printed, one line says where they could not be saved, exit code 1.
 */
import assert from "node:assert/strict";
import { reportCalibration } from "../src/cli/calibrate.ts";
import { CACHE_DIR_ENV } from "../src/io/cache_dir.ts";
import type { Calibration } from "../src/results.ts";

const CALIBRATION: Calibration = {
  adapterKey: "stand-in adapter",
  gpu: {
    matmulGflops: 41.4,
    matmulParameters: { workgroupSize: 8, template: { rows: 8, cols: 16 } },
    copyGBps: 12.5,
    timing: "timestamp-query",
  },
  cpu: { matmulGflopsOneThread: 30, threads: 2, matmulGflops: 60 },
  calibratedAt: "2026-12-02T00:00:00.000Z",
};

Deno.test("reportCalibration() prints the numbers and where they could not be cached, returns 1", async () => {
  const folder = await Deno.makeTempDir({ prefix: "calibrate_cache_" });
  // a cache folder under a file: no folder can be created there, not even by root
  await Deno.writeTextFile(`${folder}/a_file`, "");
  const previous = Deno.env.get(CACHE_DIR_ENV);
  Deno.env.set(CACHE_DIR_ENV, `${folder}/a_file/cache`);
  const printed: string[] = [];
  const { log, error } = console;
  console.log = (line: string) => printed.push(line);
  console.error = (line: string) => printed.push(line);
  try {
    const code = await reportCalibration(CALIBRATION);
    assert.equal(code, 1);
  } finally {
    Object.assign(console, { log, error });
    if (previous === undefined) Deno.env.delete(CACHE_DIR_ENV);
    else Deno.env.set(CACHE_DIR_ENV, previous);
    await Deno.remove(folder, { recursive: true });
  }
  assert.match(
    printed[0]!,
    /GPU matmul 41\.4 GFLOP\/s .*copy 12\.5 GB\/s; CPU matmul 60\.0 GFLOP\/s/,
  );
  assert.equal(printed.length, 2, printed.join("\n"));
  assert.match(printed[1]!, /^error: .*not cached: cannot write .*a_file\/cache/);
  assert.match(printed[1]!, new RegExp(CACHE_DIR_ENV));
});
