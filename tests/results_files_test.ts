import assert from "node:assert/strict";
import { decodeNpz, encodeNpz } from "../src/io/npz.ts";
import {
  resultsToCsv,
  resultsToJson,
  resultsToNpzArrays,
  writeResultsFiles,
} from "../src/io/results_files.ts";
import type { ProfileResults } from "../src/results.ts";

const fixture: ProfileResults = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/results_skipped.json", import.meta.url)),
);

Deno.test("resultsToCsv() writes one row per (series, n, run) with the raw samples", () => {
  const lines = resultsToCsv(fixture).trimEnd().split("\n");
  const header = lines[0]!.split(",");
  assert.deepEqual(header.slice(0, 6), [
    "series",
    "device",
    "variant",
    "seq_len",
    "run",
    "wall_ms",
  ]);
  assert.ok(header.includes("kernel_ms_flash_attention") && header.includes("kernel_ms_softmax"));
  const expectedRows = fixture.series.reduce(
    (sum, s) => sum + s.points.reduce((n, p) => n + Math.max(1, p.wallMs.length), 0),
    0,
  );
  assert.equal(lines.length - 1, expectedRows);
  const column = (name: string) => header.indexOf(name);
  const fusedRow = lines.find((line) => line.startsWith("gpu_fused,gpu,fused,1000,3,"))!.split(",");
  const fusedPoint = fixture.series[2]!.points[2]!;
  assert.equal(Number(fusedRow[column("wall_ms")]), fusedPoint.wallMs[2]);
  assert.equal(Number(fusedRow[column("kernel_ms_flash_attention")]), fusedPoint.kernelMs![2]![1]);
  assert.equal(fusedRow[column("kernel_ms_softmax")], "");
  const skipped = lines.find((line) => line.startsWith("gpu_naive,gpu,naive,10000,"))!.split(",");
  assert.equal(skipped[column("status")], "skipped");
  assert.equal(skipped[column("wall_ms")], "");
});

Deno.test("resultsToNpzArrays() shapes every series [lengths, runs] with NaN where skipped", () => {
  const arrays = decodeNpz(encodeNpz(resultsToNpzArrays(fixture)));
  assert.deepEqual([...arrays.seq_lens!.data], [10n, 100n, 1000n, 10000n]);
  assert.deepEqual(arrays.cpu_wall_ms!.shape, [4, 20]);
  assert.deepEqual(arrays.gpu_naive_kernel_ms!.shape, [4, 20, 5]);
  assert.deepEqual(arrays.gpu_fused_kernel_ms!.shape, [4, 20, 3]);
  assert.deepEqual(arrays.stage_names!.data, fixture.series[1]!.stageNames);
  const naiveWall = arrays.gpu_naive_wall_ms!.data as Float64Array;
  assert.equal(naiveWall[2 * 20 + 7], fixture.series[1]!.points[2]!.wallMs[7]);
  assert.ok(naiveWall.subarray(3 * 20).every(Number.isNaN), "skipped n=10000 must be NaN");
  const fusedKernel = arrays.gpu_fused_kernel_ms!.data as Float64Array;
  assert.equal(fusedKernel[(3 * 20 + 5) * 3 + 1], fixture.series[2]!.points[3]!.kernelMs![5]![1]);
  assert.equal((arrays.flops_total!.data as Float64Array)[1], fixture.flops[1]!.totalFlops);
});

Deno.test("resultsToJson() writes NaN as null and keeps every raw sample", () => {
  const withNaN: ProfileResults = structuredClone(fixture);
  withNaN.series[0]!.scaling = { exponent: 2, ci95: [NaN, NaN], seqLens: [1000, 10000] };
  const parsed = JSON.parse(resultsToJson(withNaN));
  assert.deepEqual(parsed.series[0].scaling.ci95, [null, null]);
  assert.deepEqual(parsed.series[2].points[1].wallMs, fixture.series[2]!.points[1]!.wallMs);
});

Deno.test("writeResultsFiles() writes the three files and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeResultsFiles(fixture, `${dir}/nested/out`);
    const names = [];
    for await (const entry of Deno.readDir(`${dir}/nested/out`)) names.push(entry.name);
    assert.deepEqual(names.sort(), [
      "profiling_results.csv",
      "profiling_results.json",
      "profiling_results.npz",
    ]);
    assert.equal(paths.length, 3);
    const reread = JSON.parse(await Deno.readTextFile(paths[0]!));
    assert.equal(reread.series.length, fixture.series.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
