/**
 * Interrupts the way they arrive from a terminal, `timeout` or a CI cancel: a signal to the whole
 * process group of `deno task profile` (the task runner forwards another copy within a
 * millisecond), before the runs, during them, and while the figures are rendered. Once the
 * profile has exited, its results say `"interrupted": true` and every output of the finished
 * points exists.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  assertInterruptedOutputs,
  listNames,
  readResultsJson,
  REPO_ROOT,
  startProfileTask,
  startTask,
  waitUntil,
} from "./task_process.ts";

/** Long enough that the signal lands within the runs; each run is short, so the two signals reach
 * the profile in separate turns of its event loop (a blocked loop merges them). */
const RUN_ARGS = ["--devices=cpu", "--seq-lens=10,100,600,700", "--runs=60", "--warmup=0"];

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Send `signal` to the group twice, 300 ms apart, once the first point is written; check. */
async function interruptTwice(signal: "SIGINT" | "SIGTERM" | "SIGHUP"): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: `interrupt_${signal}_` });
  const task = startProfileTask([...RUN_ARGS, `--out=${out}`]);
  try {
    await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
    // the group's copy and the copy a wrapper forwards
    task.signalGroup(signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    task.signalGroup(signal);
    const exit = await task.exited;
    const transcript = `${signal}:\n${task.output()}`;
    assert.equal(exit.code, 130, `exit ${JSON.stringify(exit)} after ${transcript}`);
    assert.ok(!/^\s+at /m.test(task.output()), `stack trace after ${transcript}`);
    await assertInterruptedOutputs(out, transcript);
  } finally {
    task.signalGroup("SIGKILL");
    await task.exited;
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("deno task profile: SIGINT, SIGTERM or SIGHUP twice to the process group 300 ms apart is one interrupt", async () => {
  // three profiles at once: each mostly waits, and the suite stays short
  await Promise.all((["SIGINT", "SIGTERM", "SIGHUP"] as const).map(interruptTwice));
});

Deno.test("deno task profile: a second SIGINT over a second later exits before the figures", async () => {
  const out = await Deno.makeTempDir({ prefix: "interrupt_twice_" });
  const task = startProfileTask([...RUN_ARGS, `--out=${out}`]);
  try {
    await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
    task.signalGroup("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 1300));
    task.signalGroup("SIGINT");
    const exit = await task.exited;
    assert.equal(exit.code, 130, task.output());
    const results = await readResultsJson(out);
    assert.equal(results?.interrupted, true, task.output());
    const ours = (await listNames(out)).filter((name) =>
      name.startsWith(".") || /\.tmp$/.test(name)
    );
    assert.deepEqual(ours, [], "temporary or hidden files left");
  } finally {
    task.signalGroup("SIGKILL");
    await task.exited;
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task profile: SIGINT while the figures are rendered marks the results interrupted", async () => {
  const out = await Deno.makeTempDir({ prefix: "interrupt_figures_" });
  const task = startProfileTask(["--devices=cpu", "--seq-lens=10,100", "--runs=2", `--out=${out}`]);
  try {
    // both points are in the data files: the profile is writing its final files
    await waitUntil(
      async () => (await readResultsJson(out))?.series[0]?.points.length === 2,
      "the last point",
    );
    assert.ok(!await exists(`${out}/kernel_breakdown.svg`), "the figures were already written");
    task.signalGroup("SIGINT");
    const exit = await task.exited;
    assert.equal(exit.code, 130, `exit ${JSON.stringify(exit)}:\n${task.output()}`);
    assert.match(task.output(), /interrupt/);
    await assertInterruptedOutputs(out, task.output());
  } finally {
    task.signalGroup("SIGKILL");
    await task.exited;
    await Deno.remove(out, { recursive: true });
  }
});

const HAS_SCRIPT = Deno.build.os === "linux" &&
  await new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((result) => result.success, () => false);

Deno.test({
  name: "deno task profile in a terminal: Ctrl-C typed into the terminal is one interrupt",
  ignore: !HAS_SCRIPT,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "interrupt_tty_" });
    // script(1) runs the task on a pseudo-terminal; ^C written to it is the terminal's Ctrl-C,
    // which the line discipline sends as SIGINT to the foreground process group
    const command = [Deno.execPath(), "task", "profile", ...RUN_ARGS, `--out=${out}`].join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: REPO_ROOT,
      env: { ...Deno.env.toObject(), NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let transcript = "";
    child.stdout!.on("data", (chunk) => transcript += chunk);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
      child.stdin!.write("\x03");
      assert.equal(await exited, 130, transcript);
      await assertInterruptedOutputs(out, transcript);
    } finally {
      child.kill("SIGKILL");
      await Deno.remove(out, { recursive: true });
    }
  },
});

const IN_CI = Deno.env.get("CI") === "true";

Deno.test("deno task profile --tune: SIGINT while tuning stops at once, says so, exits 130", async () => {
  const folder = await Deno.makeTempDir({ prefix: "interrupt_tune_" });
  const out = `${folder}/out`;
  const task = startProfileTask(
    ["--tune", "--devices=gpu", "--seq-lens=10", "--runs=2", `--out=${out}`],
    { SELF_ATTENTION_PROFILER_CACHE_DIR: `${folder}/cache` },
  );
  try {
    let exitedEarly = false;
    task.exited.then(() => exitedEarly = true);
    await waitUntil(() => exitedEarly || /tuning the GPU kernels/.test(task.output()), "tuning");
    if (exitedEarly && /no WebGPU adapter/.test(task.output()) && !IN_CI) {
      console.log("skipped: no GPU adapter");
      return;
    }
    assert.ok(!exitedEarly, task.output());
    task.signalGroup("SIGINT");
    const startMs = Date.now();
    const exit = await task.exited;
    assert.equal(exit.code, 130, `exit ${JSON.stringify(exit)}:\n${task.output()}`);
    assert.ok(Date.now() - startMs < 60_000, "took over a minute to stop");
    assert.match(task.output(), /interrupted .*nothing (was )?profiled/);
    assert.ok(!/^\s+at /m.test(task.output()), `stack trace:\n${task.output()}`);
    assert.ok(!await exists(out), "an output folder was left");
  } finally {
    task.signalGroup("SIGKILL");
    await task.exited;
    await Deno.remove(folder, { recursive: true });
  }
});

const NPX = new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((result) => result.success, () => false);

Deno.test({
  name:
    "npx --yes deno@2.9.6 task profile: after SIGTERM, the files are final once the lock is gone",
  ignore: !await NPX,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "interrupt_npx_" });
    const task = startTask([
      "npx",
      "--yes",
      "deno@2.9.6",
      "task",
      "profile",
      ...RUN_ARGS,
      `--out=${out}`,
    ]);
    try {
      await waitUntil(async () => (await readResultsJson(out)) !== null, "the first point");
      task.signalGroup("SIGTERM");
      await task.exited;
      // npx returns at once; what the README tells a script to wait for
      await waitUntil(
        async () => !(await listNames(out)).some((name) => name.endsWith(".lock")),
        "the lock to go",
      );
      await assertInterruptedOutputs(out, task.output());
    } finally {
      task.signalGroup("SIGKILL");
      await task.exited;
      await Deno.remove(out, { recursive: true });
    }
  },
});
