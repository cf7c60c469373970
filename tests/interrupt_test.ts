/**
 * Ctrl-C during a profile: exit 130, and complete, loadable files for every finished point.
 */
import assert from "node:assert/strict";
import { decodeNpz } from "../src/io/npz.ts";
import type { ProfileResults } from "../src/results.ts";
import { profileCommand } from "./task_process.ts";

const RUNS = 40;

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("profile stops on SIGINT after the current run, writes the finished points, exits 130", async () => {
  const out = await Deno.makeTempDir({ prefix: "interrupt_" });
  const child = profileCommand([
    "--devices=cpu",
    "--seq-lens=16,32,1024,1536,2048",
    `--runs=${RUNS}`,
    "--warmup=0",
    `--out=${out}`,
  ], {
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderrText = new Response(child.stderr).text();
  const drainStdout = (async () => {
    while (!(await stdout.read()).done);
  })();
  try {
    // the data files appear once the first length has finished
    const deadline = Date.now() + 60_000;
    while (!await exists(`${out}/profiling_results.json`)) {
      assert.ok(Date.now() < deadline, "no results file within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGINT");
    const status = await child.status;
    await drainStdout;
    const stderr = await stderrText;
    assert.equal(status.code, 130, stderr);
    assert.ok(!/^\s+at /m.test(stderr), `stack trace on stderr:\n${stderr}`);

    const results: ProfileResults = JSON.parse(
      await Deno.readTextFile(`${out}/profiling_results.json`),
    );
    assert.equal(results.interrupted, true);
    const points = results.series[0]!.points;
    assert.ok(points.length >= 1 && points.length < 5, `${points.length} points`);
    for (const point of points) {
      assert.equal(point.status, "ok");
      assert.equal(point.wallMs.length, RUNS, `n=${point.seqLen} is incomplete`);
    }
    const npz = decodeNpz(await Deno.readFile(`${out}/profiling_results.npz`));
    const wallMs = npz.cpu_wall_ms!.data as Float64Array;
    assert.deepEqual(npz.cpu_wall_ms!.shape, [5, RUNS]);
    assert.equal(wallMs[0], points[0]!.wallMs[0]);
    assert.ok(wallMs.subarray(points.length * RUNS).every(Number.isNaN));
    for await (const entry of Deno.readDir(out)) {
      assert.ok(!entry.name.endsWith(".tmp"), `temporary file left: ${entry.name}`);
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await Deno.remove(out, { recursive: true });
  }
});
