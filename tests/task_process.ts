/**
 * A task started the way a user starts it (`deno task profile …`, `npx --yes deno@2.9.6 task …`)
 * in its own process group, so a test can signal the whole group as a terminal, `timeout` or a CI
 * cancel does; its output is collected as it comes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository root: where `deno task` finds deno.json. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** How a started task ended. */
export interface TaskExit {
  code: number | null;
  signal: string | null;
}

/** A running task in its own process group. */
export interface TaskProcess {
  /** stdout and stderr so far, interleaved in arrival order */
  output(): string;
  /** resolves when the process exits */
  exited: Promise<TaskExit>;
  /** send `signal` to every process of the group (the task runner and the profile), if any */
  signalGroup(signal: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGKILL"): void;
}

/** Start `command` (a program and its arguments) in a new process group, in the repository. */
export function startTask(command: string[], env: Record<string, string> = {}): TaskProcess {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    detached: true,
    env: { ...Deno.env.toObject(), NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (chunk) => text += chunk);
  child.stderr!.on("data", (chunk) => text += chunk);
  const exited = new Promise<TaskExit>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  );
  return {
    output: () => text,
    exited,
    signalGroup(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch (error) {
        // the whole group has exited
        if ((error as { code?: string }).code !== "ESRCH") throw error;
      }
    },
  };
}

/** `deno task profile ARGS` with the Deno that runs the tests. */
export function startProfileTask(args: string[], env: Record<string, string> = {}): TaskProcess {
  return startTask([Deno.execPath(), "task", "profile", ...args], env);
}

/** The profile CLI's script and the project's config, for children run with `deno run`. */
const PROFILE_SCRIPT = fileURLToPath(new URL("../src/cli/profile.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** How a profile child runs: its environment (default this one's and NO_COLOR=1) and pipes. */
export type ProfileCommandOptions = Pick<
  Deno.CommandOptions,
  "env" | "clearEnv" | "stdout" | "stderr"
>;

/** `deno run --config deno.json -A src/cli/profile.ts ARGS`, not started. */
export function profileCommand(args: string[], options: ProfileCommandOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "-A", PROFILE_SCRIPT, ...args],
    env: { NO_COLOR: "1" },
    ...options,
  });
}

/** A profile run to its end: exit code and its output as text. */
export async function runProfileCli(
  args: string[],
  options: ProfileCommandOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await profileCommand(args, options).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: text(result.stdout), stderr: text(result.stderr) };
}

/** Wait until `condition` holds, polling every 20 ms; fail after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  label: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The parsed profiling_results.json in `out`, or null while it is missing. */
export async function readResultsJson(out: string): Promise<
  { interrupted: boolean; series: { points: { status: string }[] }[] } | null
> {
  try {
    return JSON.parse(await Deno.readTextFile(`${out}/profiling_results.json`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The names in a folder, sorted. */
export async function listNames(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  return names.sort();
}

/** The data files, figures and reports every finished profile leaves. */
export const PROFILE_OUTPUTS = [
  "kernel_breakdown.png",
  "kernel_breakdown.svg",
  "profiling_results.csv",
  "profiling_results.json",
  "profiling_results.npz",
  "report.html",
  "report.md",
  "self_attention_profiling.png",
  "self_attention_profiling.svg",
  "trace.json",
];

/**
 * The contract of an interrupted profile once its process has exited: `"interrupted": true`,
 * every output of the finished points, no temporary or hidden file.
 */
export async function assertInterruptedOutputs(out: string, transcript: string): Promise<void> {
  const results = await readResultsJson(out);
  assert.ok(results !== null, `no results file:\n${transcript}`);
  assert.equal(results.interrupted, true, `"interrupted" is not true:\n${transcript}`);
  const points = results.series.flatMap((series) => series.points);
  assert.ok(points.length >= 1, "no finished point");
  assert.ok(points.every((point) => point.status === "ok"), "a point is not ok");
  const names = await listNames(out);
  assert.deepEqual(names, PROFILE_OUTPUTS, `outputs of ${out}:\n${transcript}`);
}
