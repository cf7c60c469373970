/**
 * Every command in src/cli/ (every file there that runs as a program) answers `--help`, `-h` and
 * `--version` with exit code 0 and text on stdout, before any work.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const CLI = new URL("../src/cli/", import.meta.url);
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** The README's "### Flags of `task`" section, up to the next heading. */
function flagsSection(task: string): string {
  const start = README.indexOf(`### Flags of \`${task}\``);
  assert.ok(start >= 0, `the README has no "### Flags of \`${task}\`" section`);
  const body = README.indexOf("\n", start);
  const next = README.slice(body).search(/^#{1,3} /m);
  return next < 0 ? README.slice(start) : README.slice(start, body + next);
}

const commands: string[] = [];
for await (const entry of Deno.readDir(CLI)) {
  if (!entry.name.endsWith(".ts")) continue;
  const source = await Deno.readTextFile(new URL(entry.name, CLI));
  if (source.includes("if (import.meta.main)")) commands.push(entry.name);
}
commands.sort();

Deno.test("src/cli/ holds the four commands at least", () => {
  for (const name of ["calibrate.ts", "plot.ts", "profile.ts", "validate.ts"]) {
    assert.ok(commands.includes(name), `${name} is not found as a command`);
  }
});

async function run(command: string, flag: string) {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "-A", fileURLToPath(new URL(command, CLI)), flag],
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: decode(result.stdout), stderr: decode(result.stderr) };
}

for (const command of commands) {
  const task = command.replace(/\.ts$/, "");
  Deno.test(`${command} answers --help, -h and --version`, async () => {
    const [help, short, version] = await Promise.all([
      run(command, "--help"),
      run(command, "-h"),
      run(command, "--version"),
    ]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`Usage: deno task ${task}`));
    assert.match(help.stdout, /--version/, "the help does not list --version");
    assert.equal(short.code, 0, short.stderr);
    assert.equal(short.stdout, help.stdout);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^self-attention-profiler \d+\.\d+\.\d+ \(Deno \d/);
  });

  Deno.test(`the README lists every flag of ${task}`, async () => {
    const help = await run(command, "--help");
    const flags = new Set(help.stdout.match(/--[a-z][a-z0-9-]*/g));
    const section = flagsSection(task);
    const missing = [...flags].filter((flag) => !section.includes(`\`${flag}`));
    assert.deepEqual(missing, [], `flags of ${task} missing from its README section`);
  });
}
