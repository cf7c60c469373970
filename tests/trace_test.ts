/**
 * trace.json: valid Chrome Trace Event Format — every event has ph, ts, pid and tid; each GPU
 * stage lies inside its forward; one track per series — from a fixture and from a real profile
 * (`--seq-lens 10,1000 --runs 3`, GPU on whatever adapter WebGPU finds; skipped without one
 * outside CI).
 */
import assert from "node:assert/strict";
import { selectWebGpuBackends } from "../src/gpu/backends.ts";
import { buildTrace, hasTraceData, type TraceEvent, type TraceFile } from "../src/io/trace.ts";
import type { ProfileResults } from "../src/results.ts";
import { runProfileCli } from "./task_process.ts";

const IN_CI = Deno.env.get("CI") === "true";
selectWebGpuBackends();
const HAS_ADAPTER = await (async () => {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
})();

const fixture: ProfileResults = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/results_full.json", import.meta.url)),
);

/** The fixture with stage begin times: the stages one after another from the forward's start. */
function withStageStarts(results: ProfileResults): ProfileResults {
  const copy: ProfileResults = structuredClone(results);
  for (const point of copy.series.flatMap((s) => s.points)) {
    point.kernelStartMs = point.kernelMs?.map((stages) =>
      stages.map((_, i) => stages.slice(0, i).reduce((a, b) => a + b, 0))
    );
  }
  return copy;
}

/** Check the format, the nesting and the tracks; returns the forwards and stages. */
function assertValidTrace(trace: TraceFile, results: ProfileResults) {
  for (const event of trace.traceEvents) {
    for (const field of ["ph", "ts", "pid", "tid"] as const) {
      assert.ok(event[field] !== undefined, `${field} missing in ${JSON.stringify(event)}`);
    }
    assert.ok(Number.isFinite(event.ts) && event.ts >= 0);
    // µs to the nanosecond, without float residue such as 119476.15400000001
    assert.match(String(event.ts), /^\d+(\.\d{1,3})?$/, JSON.stringify(event));
    if (event.ph === "X") assert.ok(Number.isFinite(event.dur) && event.dur! >= 0);
  }
  const forwards = trace.traceEvents.filter((e) => e.cat === "forward");
  const stages = trace.traceEvents.filter((e) => e.cat === "stage");
  for (const stage of stages) {
    const parent = forwards.find((f) =>
      f.tid === stage.tid && f.args!.seqLen === stage.args!.seqLen &&
      f.args!.run === stage.args!.run
    );
    assert.ok(parent, `no forward for ${JSON.stringify(stage)}`);
    assert.ok(stage.ts >= parent.ts, `${stage.name} starts before its forward`);
    assert.ok(stage.ts + stage.dur! <= parent.ts + parent.dur!, `${stage.name} ends after it`);
  }
  // one track per series, named; every ok run is a forward on its series' track
  const names = trace.traceEvents.filter((e) => e.name === "thread_name");
  results.series.forEach((series, i) => {
    const tid = i + 1;
    assert.match(String(names.find((e) => e.tid === tid)?.args?.name), new RegExp(series.name));
    const runs = series.points.filter((p) => p.status === "ok").reduce(
      (n, p) => n + p.wallMs.length,
      0,
    );
    assert.equal(forwards.filter((f) => f.tid === tid).length, runs, series.name);
  });
  return { forwards, stages };
}

Deno.test("buildTrace() nests every stage in its forward, one track per series", () => {
  const results = withStageStarts(fixture);
  assert.equal(hasTraceData(fixture), false, "stage durations without begin times");
  assert.equal(hasTraceData(results), true);
  const trace = buildTrace(results);
  const { forwards, stages } = assertValidTrace(trace, results);
  const gpuRuns = results.series.filter((s) => s.device === "gpu")
    .flatMap((s) => s.points.flatMap((p) => p.kernelMs ?? []));
  assert.equal(stages.length, gpuRuns.reduce((n, run) => n + run.length, 0));
  // microseconds: a forward's duration is its wall time × 1000
  const first = results.series[0]!.points[0]!;
  const firstForward = forwards.find((f) => f.tid === 1)!;
  assert.ok(Math.abs(firstForward.dur! - 1000 * first.wallMs[0]!) < 1e-3);
  // the events of one track never overlap, except stages inside their forward
  const tops = trace.traceEvents.filter((e: TraceEvent) => e.ph === "X" && e.cat !== "stage")
    .sort((a, b) => a.ts - b.ts);
  tops.slice(1).forEach((event, i) =>
    assert.ok(event.ts >= tops[i]!.ts + tops[i]!.dur!, `${event.name} overlaps`)
  );
  assert.match(JSON.stringify(trace.otherData.adapter), /H200/);
});

/**
 * Events at their measured starts: the profile does one thing at a time, so the forwards,
 * uploads, empty submissions and readbacks of every track, taken together, never overlap; and the
 * time between two runs of a point is the time between their recorded starts.
 */
function assertMeasuredTimes(trace: TraceFile, results: ProfileResults): void {
  assert.match(String(trace.otherData.layout), /^events at their measured starts/);
  const spans = trace.traceEvents.filter((e) => e.ph === "X" && e.cat !== "stage")
    .sort((a, b) => a.ts - b.ts);
  assert.equal(spans[0]!.ts, 0);
  for (const [i, event] of spans.slice(1).entries()) {
    const before = spans[i]!;
    assert.ok(before.ts + before.dur! <= event.ts + 1e-3, `${before.name} overlaps ${event.name}`);
  }
  const point = results.series[0]!.points.find((p) => p.status === "ok")!;
  const runs = trace.traceEvents.filter((e) =>
    e.cat === "forward" && e.tid === 1 && e.args?.seqLen === point.seqLen
  );
  const gapUs = (point.runStartMs![1]! - point.runStartMs![0]!) * 1000;
  assert.ok(Math.abs(runs[1]!.ts - runs[0]!.ts - gapUs) < 0.01);
}

Deno.test({
  name: "profile --seq-lens 10,1000 --runs 3 writes a valid trace.json with the stages' offsets",
  ignore: !HAS_ADAPTER && !IN_CI,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "trace_profile_" });
    try {
      const result = await runProfileCli([
        "--devices=cpu,gpu",
        "--seq-lens=10,1000",
        "--runs=3",
        "--warmup=1",
        "--quiet",
        `--out=${out}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      const results: ProfileResults = JSON.parse(
        await Deno.readTextFile(`${out}/profiling_results.json`),
      );
      const trace: TraceFile = JSON.parse(await Deno.readTextFile(`${out}/trace.json`));
      const { stages } = assertValidTrace(trace, results);
      const gpu = results.series.filter((s) => s.device === "gpu");
      assert.ok(gpu.length > 0);
      for (const point of gpu.flatMap((s) => s.points)) {
        // begin times kept: the first stage at 0, the others in order after it
        assert.equal(point.kernelStartMs?.length, 3);
        for (const starts of point.kernelStartMs!) {
          assert.equal(starts[0], 0);
          starts.slice(1).forEach((ms, i) => assert.ok(ms >= starts[i]!));
        }
      }
      assert.ok(stages.length > 0);
      assert.ok(trace.traceEvents.some((e) => e.name === "empty submission"));
      assert.ok(trace.traceEvents.some((e) => e.name.startsWith("upload")));
      assertMeasuredTimes(trace, results);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
