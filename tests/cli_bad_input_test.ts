/**
 * Every user mistake on the command line: exit code 2, one line naming the flag, no stack trace,
 * nothing written.
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";

const PROFILE = fromFileUrl(new URL("../src/cli/profile.ts", import.meta.url));
const PLOT = fromFileUrl(new URL("../src/cli/plot.ts", import.meta.url));
const VALIDATE = fromFileUrl(new URL("../src/cli/validate.ts", import.meta.url));
const CALIBRATE = fromFileUrl(new URL("../src/cli/calibrate.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../deno.json", import.meta.url));

interface BadInvocation {
  script: string;
  /** arguments; OUT is replaced by a fresh folder path that must not be created */
  args: string[];
  /** text the one-line message must contain (the flag it names) */
  names: string;
}

const badInvocations: BadInvocation[] = [
  { script: PROFILE, args: ["--bogus"], names: "--bogus" },
  { script: PROFILE, args: ["--seq-lens", ""], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "10,,100"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "abc"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "1.5"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens=-5"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "0"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "10,10"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "2000000"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens", "900000", "--devices", "cpu"], names: "--seq-lens" },
  { script: PROFILE, args: ["--seq-lens"], names: "--seq-lens" },
  { script: PROFILE, args: ["--d-model", "0"], names: "--d-model" },
  { script: PROFILE, args: ["--d-model", "100", "--heads", "3"], names: "--heads" },
  { script: PROFILE, args: ["--heads", "abc"], names: "--heads" },
  { script: PROFILE, args: ["--mask", "diagonal"], names: "--mask" },
  { script: PROFILE, args: ["--mask", "causal,,full"], names: "--mask" },
  { script: PROFILE, args: ["--mask", "sliding:0"], names: "--mask" },
  { script: PROFILE, args: ["--mask", "sliding:x"], names: "--mask" },
  { script: PROFILE, args: ["--mask", "sliding:"], names: "--mask" },
  { script: PROFILE, args: ["--batch", "0"], names: "--batch" },
  { script: PROFILE, args: ["--kv-heads", "0"], names: "--kv-heads" },
  { script: PROFILE, args: ["--heads", "8", "--kv-heads", "3"], names: "kv_heads 3" },
  { script: PROFILE, args: ["--attention", "cosine"], names: "--attention" },
  { script: PROFILE, args: ["--pass", "sideways"], names: "--pass" },
  { script: PROFILE, args: ["--d-model", "512,512"], names: "--d-model" },
  { script: PROFILE, args: ["--runs", "1"], names: "--runs" },
  { script: PROFILE, args: ["--runs", "0"], names: "--runs" },
  { script: PROFILE, args: ["--runs", "2.5"], names: "--runs" },
  { script: PROFILE, args: ["--warmup=-1"], names: "--warmup" },
  { script: PROFILE, args: ["--devices", "tpu"], names: "--devices" },
  { script: PROFILE, args: ["--devices", ""], names: "--devices" },
  { script: PROFILE, args: ["--devices", "cpu,cpu"], names: "--devices" },
  { script: PROFILE, args: ["--variants", "slow"], names: "--variants" },
  { script: PROFILE, args: ["--variants", "naive,"], names: "--variants" },
  // Node's hint kept, with the value given
  { script: PROFILE, args: ["--seed", "-1"], names: "use --seed=-1" },
  { script: PROFILE, args: ["--seed", "5000000000"], names: "--seed" },
  { script: PROFILE, args: ["--dump-max", "0"], names: "--dump-max" },
  { script: PROFILE, args: ["--quiet=yes"], names: "--quiet" },
  { script: PROFILE, args: ["extra"], names: "extra" },
  { script: PROFILE, args: ["--out", "FILE"], names: "--out" },
  { script: PROFILE, args: ["--out", "/proc/self/cannot_write_here"], names: "--out" },
  { script: PROFILE, args: ["--out", "DANGLING"], names: "--out" },
  { script: PROFILE, args: ["--out", "HOLDS_OUTPUT_FOLDER"], names: "is a folder" },
  { script: PLOT, args: ["--from", "FIXTURE", "--out", "HOLDS_OUTPUT_FOLDER"], names: "--out" },
  { script: PLOT, args: [], names: "--from" },
  { script: PLOT, args: ["--from", "MISSING"], names: "--from" },
  { script: PLOT, args: ["--from", "TRUNCATED"], names: "--from" },
  { script: PLOT, args: ["--from", "NOT_RESULTS"], names: "--from" },
  { script: PLOT, args: ["--bogus"], names: "--bogus" },
  { script: VALIDATE, args: ["--bogus"], names: "--bogus" },
  { script: PROFILE, args: ["--tune=yes"], names: "--tune" },
  { script: CALIBRATE, args: ["--bogus"], names: "--bogus" },
  { script: CALIBRATE, args: ["--budget-s", "-1"], names: "--budget-s" },
  { script: CALIBRATE, args: ["--budget-s", "abc"], names: "--budget-s" },
  { script: CALIBRATE, args: ["--tune=1"], names: "--tune" },
];

const folder = await Deno.makeTempDir({ prefix: "cli_bad_input_" });
const existingFile = `${folder}/a_file`;
await Deno.writeTextFile(existingFile, "not a folder");
await Deno.writeTextFile(`${folder}/truncated.json`, '{"schemaVersion": 1, "series": [');
await Deno.writeTextFile(`${folder}/not_results.json`, '{"hello": "world"}');
// a symbolic link to a folder that does not exist, and a folder holding a folder named like an output
await Deno.symlink(`${folder}/missing_target`, `${folder}/dangling`);
await Deno.mkdir(`${folder}/holds_output/profiling_results.json`, { recursive: true });
await Deno.mkdir(`${folder}/holds_output/kernel_breakdown.png`, { recursive: true });

function substitute(arg: string, out: string): string {
  return ({
    FILE: existingFile,
    MISSING: `${folder}/missing/profiling_results.json`,
    TRUNCATED: `${folder}/truncated.json`,
    NOT_RESULTS: `${folder}/not_results.json`,
    DANGLING: `${folder}/dangling`,
    HOLDS_OUTPUT_FOLDER: `${folder}/holds_output`,
    FIXTURE: fromFileUrl(new URL("./fixtures/results_cpu_only.json", import.meta.url)),
  } as Record<string, string>)[arg] ?? arg.replace("OUT", out);
}

for (const [index, bad] of badInvocations.entries()) {
  const script = bad.script.split("/").pop();
  Deno.test(`${script} ${JSON.stringify(bad.args)} exits 2 naming ${bad.names}`, async () => {
    const out = `${folder}/out_${index}`;
    const args = bad.args.map((arg) => substitute(arg, out));
    const outArgs = bad.args.includes("--out") || bad.script !== PROFILE ? [] : ["--out", out];
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", CONFIG, "-A", bad.script, ...args, ...outArgs],
      cwd: folder,
      env: { NO_COLOR: "1", XDG_RUNTIME_DIR: folder },
      stdout: "piped",
      stderr: "piped",
    });
    const result = await command.output();
    const stderr = new TextDecoder().decode(result.stderr).trim();
    assert.equal(result.code, 2, `exit code ${result.code}, stderr:\n${stderr}`);
    const lines = stderr.split("\n").filter((line) => line.startsWith("error:"));
    assert.equal(lines.length, 1, `expected one error line, got:\n${stderr}`);
    assert.ok(lines[0]!.includes(bad.names), `"${lines[0]}" does not name ${bad.names}`);
    assert.ok(!/^\s+at /m.test(stderr), `stack trace on stderr:\n${stderr}`);
    for (const path of [out, `${folder}/results`, `${folder}/missing_target`]) {
      assert.ok(!await Deno.stat(path).then(() => true, () => false), `${path} was created`);
    }
  });
}
