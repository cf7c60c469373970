/**
 * The output folder through `deno task profile`: one run at a time (a lock with the owner's PID;
 * a lock left by a killed run is taken over), leftovers of earlier runs and killed writes removed
 * with one line, and a write that fails after the work started (a full disk) ending in one line,
 * exit 1, with the finished points kept.
 */
import assert from "node:assert/strict";
import {
  listNames,
  PROFILE_OUTPUTS,
  readResultsJson,
  REPO_ROOT,
  startProfileTask,
  startTask,
  waitUntil,
} from "./task_process.ts";

const TINY_ARGS = ["--devices=cpu", "--seq-lens=10,100", "--runs=2"];
const LONG_ARGS = ["--devices=cpu", "--seq-lens=10,100,600,700", "--runs=60", "--warmup=0"];

Deno.test("deno task profile: a second run into the same --out exits 2 with one line", async () => {
  const out = await Deno.makeTempDir({ prefix: "lock_" });
  const first = startProfileTask([...LONG_ARGS, `--out=${out}`]);
  try {
    await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
    const second = startProfileTask([...TINY_ARGS, `--out=${out}`]);
    const exit = await second.exited;
    const errors = second.output().split("\n").filter((line) => line.startsWith("error:"));
    assert.equal(exit.code, 2, second.output());
    assert.equal(errors.length, 1, second.output());
    assert.match(errors[0]!, /--out .*another run \(PID \d+\)/);
    // the first run goes on and owns the folder
    assert.equal(first.output().includes("removed from"), false);
    first.signalGroup("SIGINT");
    assert.equal((await first.exited).code, 130, first.output());
    assert.deepEqual(await listNames(out), PROFILE_OUTPUTS);
  } finally {
    first.signalGroup("SIGKILL");
    await first.exited;
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task profile: after a SIGKILL, the next run takes over the lock and removes leftovers", async () => {
  const out = await Deno.makeTempDir({ prefix: "leftovers_" });
  const killed = startProfileTask([...LONG_ARGS, `--out=${out}`]);
  try {
    await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
    killed.signalGroup("SIGKILL");
    await killed.exited;
    // what a killed write and an earlier, longer run leave, and a file that is not ours
    const leftovers = [
      "profiling_results.npz.4242.0badcafe.tmp",
      "tensors_n4096.npz",
      "tensors_gpu_fused_n5.npz",
      "report.md",
    ];
    for (const name of [...leftovers, "notes.txt"]) await Deno.writeTextFile(`${out}/${name}`, "x");
    assert.ok(
      (await listNames(out)).some((name) => name.startsWith(".")),
      "no lock left by the kill",
    );

    const next = startProfileTask([...TINY_ARGS, `--out=${out}`]);
    const exit = await next.exited;
    assert.equal(exit.code, 0, next.output());
    const removedLines = next.output().split("\n").filter((line) => line.includes("removed from"));
    assert.equal(removedLines.length, 1, next.output());
    assert.match(removedLines[0]!, /stale lock \(PID \d+\)/);
    assert.match(removedLines[0]!, /0badcafe\.tmp/);
    assert.deepEqual(await listNames(out), [...PROFILE_OUTPUTS, "notes.txt"].sort());
    assert.deepEqual((await readResultsJson(out))!.series[0]!.points.length, 2);
  } finally {
    killed.signalGroup("SIGKILL");
    await Deno.remove(out, { recursive: true });
  }
});

const HAS_BASH = Deno.build.os !== "windows" &&
  await new Deno.Command("bash", { args: ["-c", "true"] }).output().then(
    (r) => r.success,
    () => false,
  );

Deno.test({
  name:
    "deno task profile: a write that fails after the work started is one line, exit 1, points kept",
  ignore: !HAS_BASH,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "write_fault_" });
    // files over 64 KiB cannot be written (EFBIG), as on a full disk: the data files of two small
    // points fit, the figures' PNG does not; SIGXFSZ is ignored so the write fails instead. The
    // task's own command line, run by bash: `deno task` restores SIGXFSZ in what it starts.
    const profileTask = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).tasks.profile;
    const command = `trap '' XFSZ; ulimit -f 64; exec "$DENO" ${
      profileTask.replace(/^deno /, "")
    } "$@"`;
    const task = startTask(["bash", "-c", command, "bash", ...TINY_ARGS, `--out=${out}`], {
      DENO: Deno.execPath(),
    });
    try {
      const exit = await task.exited;
      const errors = task.output().split("\n").filter((line) => line.startsWith("error:"));
      assert.equal(exit.code, 1, task.output());
      assert.equal(errors.length, 1, task.output());
      assert.match(errors[0]!, /cannot write the figures into .*File too large/);
      assert.ok(!/^\s+at /m.test(task.output()), `stack trace:\n${task.output()}`);
      const results = await readResultsJson(out);
      assert.deepEqual(results!.series[0]!.points.map((point) => point.status), ["ok", "ok"]);
      const names = await listNames(out);
      assert.ok(!names.some((name) => name.startsWith(".") || name.endsWith(".tmp")), `${names}`);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
