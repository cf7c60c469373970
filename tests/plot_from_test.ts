/**
 * `deno task plot --from` never trusts its file: every field the figures read is checked (a wrong
 * type is one line and exit 2, not a stack trace), a profile's own file of either schema version
 * is accepted, and a file over the size limit — or no regular file at all, like /dev/zero — is
 * refused before it is read.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MAX_RESULTS_FILE_BYTES } from "../src/plot/load_results.ts";

const PLOT = fileURLToPath(new URL("../src/cli/plot.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const FULL = fileURLToPath(new URL("./fixtures/results_full.json", import.meta.url));

/** `plot --from <from> --out <out>` in a child process, killed after 60 s. */
async function plotFrom(from: string, out: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "-A", PLOT, "--from", from, "--out", out],
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Assert exit 2, one line naming `fragment`, and nothing written to `out`. */
async function assertRefused(from: string, out: string, fragment: RegExp, what: string) {
  const { code, stderr } = await plotFrom(from, out);
  assert.equal(code, 2, `${what}: exit code ${code}: ${stderr}`);
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `${what}: one line: ${stderr}`);
  assert.match(lines[0]!, fragment, what);
  const written = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
  assert.deepEqual(written, [], "nothing written");
}

// deno-lint-ignore no-explicit-any
type ParsedFixture = any; // edited freely, as a damaged file would be

/** The full fixture with one change applied. */
async function brokenFixture(
  dir: string,
  breakIt: (results: ParsedFixture) => void,
): Promise<string> {
  const results = JSON.parse(await Deno.readTextFile(FULL));
  breakIt(results);
  const path = `${dir}/profiling_results.json`;
  await Deno.writeTextFile(path, JSON.stringify(results));
  return path;
}

Deno.test("plot --from refuses a wrong type in any field the figures read, in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_from_" });
  const cases: [string, (results: ParsedFixture) => void, RegExp][] = [
    ["string exponent", (r) => r.series[0].scaling.exponent = "1.7", /scaling\.exponent is "1\.7"/],
    [
      "numeric skip reason",
      (r) => r.skips.push({ series: "gpu", reason: 42 }),
      /skips\[0\]\.reason is 42/,
    ],
    ["calibration without cpu", (r) => delete r.calibration.cpu, /calibration\.cpu is missing/],
    ["adapter vendor", (r) => r.environment.adapter.vendor = 7, /adapter\.vendor is 7/],
    ["devices", (r) => r.config.devices = "cpu,gpu", /config\.devices is "cpu,gpu"/],
    ["interrupted", (r) => r.interrupted = "false", /interrupted is "false"/],
    ["point reason", (r) => r.series[0].points[0].reason = ["x"], /points\[0\]\.reason is \["x"\]/],
    // fields the trace and the report read
    [
      "upload time",
      (r) => r.series[1].points[0].uploadMs = "slow",
      /points\[0\]\.uploadMs is "slow"/,
    ],
    ["readback time", (r) => r.series[1].points[0].readbackMs = null, /readbackMs is null/],
    [
      "empty submissions",
      (r) => r.series[1].points[0].submitOverheadMs = [1, "a"],
      /submitOverheadMs\[1\] is "a"/,
    ],
    [
      "stage begin times",
      (r) => r.series[1].points[0].kernelStartMs = [[0, "x"]],
      /kernelStartMs\[0\]\[1\] is "x"/,
    ],
    ["kernel sums", (r) => r.series[1].points[0].kernelSumMs = "5", /kernelSumMs is "5"/],
    ["forward times", (r) => r.series[0].points[0].forwardWallMs = [true], /forwardWallMs\[0\]/],
  ];
  try {
    for (const [what, breakIt, fragment] of cases) {
      await assertRefused(await brokenFixture(dir, breakIt), `${dir}/out`, fragment, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plot --from refuses /dev/zero and a file over the size limit without reading them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_from_" });
  try {
    await assertRefused("/dev/zero", `${dir}/out`, /not a regular file/, "/dev/zero");
    const huge = `${dir}/profiling_results.json`;
    await Deno.writeTextFile(huge, "{}");
    await Deno.truncate(huge, MAX_RESULTS_FILE_BYTES + 1); // sparse: no disk used
    await assertRefused(huge, `${dir}/out`, /larger than the \d+ MiB/, "huge");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plot --from accepts a schema-2 file as the profile writes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_from_" });
  try {
    const path = await brokenFixture(dir, (r) => {
      r.schemaVersion = 2;
      r.configurations = [{
        id: "b1_d512_h8_kv8_full_softmax_forward",
        batch: 1,
        dModel: 512,
        heads: 8,
        kvHeads: 8,
        dK: 64,
        mask: "full",
        window: 0,
        attention: "softmax",
        pass: "forward",
      }];
    });
    const { code, stderr } = await plotFrom(path, `${dir}/out`);
    assert.equal(code, 0, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
