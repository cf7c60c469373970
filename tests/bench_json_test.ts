/**
 * `deno bench -P --json` prints one JSON document on stdout (the human tables go to stderr), and
 * the GPU bench's kernel times land in their own JSON file. Runs the GPU bench at one tiny length;
 * without an adapter it registers no case, and its stdout must still be JSON.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { childEnv } from "./test_gpu.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("deno bench -P --json bench/gpu_bench.ts prints JSON on stdout and kernel times to a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_json_" });
  try {
    const kernelTimes = `${dir}/kernel_times.json`;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bench", "-P", "--json", "bench/gpu_bench.ts"],
      cwd: ROOT,
      clearEnv: true,
      env: childEnv({ GPU_BENCH_SEQ_LENS: "16", GPU_BENCH_KERNEL_TIMES: kernelTimes }),
    }).output();
    const text = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const report = JSON.parse(text); // throws on anything but one JSON document
    const benches: { name: string; results: { ok?: unknown }[] }[] = report.benches;
    if (benches.length === 0) {
      assert.match(new TextDecoder().decode(stderr), /no GPU adapter/);
      return;
    }
    assert.ok(benches.every((bench) => bench.results.every((result) => result.ok)), text);
    const times = JSON.parse(await Deno.readTextFile(kernelTimes));
    const names = times.cases.map((c: { case: string }) => c.case);
    assert.ok(names.includes("n=16 fused flash_attention"), names.join(", "));
    for (const c of times.cases) assert.ok(c.kernelMs >= 0, JSON.stringify(c));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
