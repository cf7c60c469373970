/**
 * `trace.json`: every timed forward of a profile in the Chrome Trace Event Format (JSON object
 * form), for Perfetto (ui.perfetto.dev) and chrome://tracing. One process; one track (`tid`) per
 * series holding its forwards as complete events (`"ph": "X"`) and, for GPU series, each stage as
 * an X event nested inside its forward at its real offset from the timestamp queries; one more
 * track for the work measured apart from the forwards: upload, empty submissions, readback.
 * Times are microseconds, as the format requires.
 *
 * Where the results keep when each run, upload, empty submission and readback began
 * (`runStartMs` …, on the profiling process's clock), events are drawn there, from the first one;
 * older files keep durations only, and their events are laid end to end in the order the profile
 * measured them (lengths ascending, series in results order), 0.1 ms apart. A stage's offset is
 * relative to the forward's first stage, which is drawn at the forward's start (the GPU clock has
 * no known offset from the host's).
 *
 * @module
 */

import type { PointResult, ProfileResults, SeriesResult } from "../results.ts";

/** One Trace Event Format event (the fields this file uses). */
export interface TraceEvent {
  /** what the event shows */
  name: string;
  /** "X" complete, "M" metadata */
  ph: "X" | "M";
  /** start, µs */
  ts: number;
  /** duration, µs (X only) */
  dur?: number;
  /** the process track */
  pid: number;
  /** the thread track */
  tid: number;
  /** categories, comma-separated */
  cat?: string;
  /** details shown on selection */
  args?: Record<string, unknown>;
}

/** The whole file: the JSON object form, with the run's setup in `otherData`. */
export interface TraceFile {
  /** the events */
  traceEvents: TraceEvent[];
  /** the unit the viewer shows */
  displayTimeUnit: "ms";
  /** what produced the trace */
  otherData: Record<string, unknown>;
}

const PID = 1;
/** µs between consecutive events of the laid-out timeline */
const GAP_US = 100;
const US_PER_MS = 1000;

/** Microseconds rounded to the nanosecond: a small file, and sums that stay exact. */
function roundUs(microseconds: number): number {
  return Math.round(microseconds * 1000) / 1000;
}

/** Milliseconds as microseconds, rounded to the nanosecond. */
function us(ms: number): number {
  return roundUs(ms * US_PER_MS);
}

/**
 * Whether a trace can be drawn from these results: every GPU point with stage times also has
 * their begin times (files from before `kernelStartMs` have durations only).
 */
export function hasTraceData(results: ProfileResults): boolean {
  return results.series.every((series) =>
    series.points.every((point) =>
      point.status !== "ok" || point.kernelMs === undefined ||
      point.kernelStartMs?.length === point.kernelMs.length
    )
  );
}

/** Whether every timed point keeps when its runs began (files before `runStartMs` do not). */
function hasStartTimes(results: ProfileResults): boolean {
  return results.series.every((series) =>
    series.points.every((point) =>
      point.status !== "ok" || point.runStartMs?.length === point.wallMs.length
    )
  );
}

/** The earliest recorded start of any event, ms (the trace's time 0). */
function firstStartMs(results: ProfileResults): number {
  const starts = results.series.flatMap((series) =>
    series.points.filter((point) => point.status === "ok").flatMap((point) => [
      ...(point.runStartMs ?? []),
      point.uploadStartMs ?? Infinity,
      point.submitOverheadStartMs ?? Infinity,
      point.readbackStartMs ?? Infinity,
    ])
  );
  return Math.min(...starts);
}

/**
 * Appends events: at their recorded starts (ms on the profile's clock, from `originMs`), or, for
 * files without them (`originMs` null), one after another on a clock that only moves forward.
 */
class Timeline {
  readonly events: TraceEvent[] = [];
  readonly #originMs: number | null;
  #nowUs = 0;

  constructor(originMs: number | null) {
    this.#originMs = originMs;
  }

  /** A complete event of `durationMs`, at `startMs` when starts are kept, else after the last. */
  add(
    tid: number,
    name: string,
    timing: { durationMs: number; startMs?: number },
    args: Record<string, unknown>,
    cat: string,
  ) {
    const placed = this.#originMs !== null && timing.startMs !== undefined;
    const event: TraceEvent = {
      name,
      cat,
      ph: "X",
      ts: placed ? us(timing.startMs! - this.#originMs!) : this.#nowUs,
      dur: us(timing.durationMs),
      pid: PID,
      tid,
      args,
    };
    this.events.push(event);
    this.#nowUs = roundUs(event.ts + event.dur! + GAP_US);
    return event;
  }
}

/** The stages of one GPU forward, nested in `forward` at their offsets. */
function stageEvents(
  series: SeriesResult,
  point: PointResult,
  run: number,
  forward: TraceEvent,
): TraceEvent[] {
  const stageMs = point.kernelMs?.[run];
  const startMs = point.kernelStartMs?.[run];
  if (stageMs === undefined || startMs === undefined) return [];
  const forwardEndUs = roundUs(forward.ts + forward.dur!);
  return stageMs.map((ms, stage) => {
    const ts = Math.min(roundUs(forward.ts + us(startMs[stage]!)), forwardEndUs);
    return {
      name: series.stageNames?.[stage] ?? `stage ${stage}`,
      cat: "stage",
      ph: "X",
      ts,
      // the profile kept offsets whose stages end inside the wall time; only rounding can overrun
      dur: Math.min(us(ms), roundUs(forwardEndUs - ts)),
      pid: PID,
      tid: forward.tid,
      args: { seqLen: point.seqLen, run: run + 1, ms },
    };
  });
}

/** The events of one point: upload and empty submissions, the forwards, the readback. */
function pointEvents(
  timeline: Timeline,
  series: SeriesResult,
  point: PointResult,
  tid: number,
  overheadTid: number,
): void {
  const where = { series: series.name, seqLen: point.seqLen };
  if (point.uploadMs !== undefined) {
    const upload = { durationMs: point.uploadMs, startMs: point.uploadStartMs };
    timeline.add(overheadTid, `upload n=${point.seqLen}`, upload, where, "transfer");
  }
  // the empty submissions ran back to back from their recorded start
  let submissionStartMs = point.submitOverheadStartMs;
  for (const ms of point.submitOverheadMs ?? []) {
    const timing = { durationMs: ms, startMs: submissionStartMs };
    timeline.add(overheadTid, "empty submission", timing, where, "overhead");
    if (submissionStartMs !== undefined) submissionStartMs += ms;
  }
  point.wallMs.forEach((wallMs, run) => {
    const args = {
      ...where,
      run: run + 1,
      wallMs,
      ...(point.kernelSumMs ? { kernelSumMs: point.kernelSumMs[run] } : {}),
    };
    const timing = { durationMs: wallMs, startMs: point.runStartMs?.[run] };
    const forward = timeline.add(tid, `forward n=${point.seqLen}`, timing, args, "forward");
    timeline.events.push(...stageEvents(series, point, run, forward));
  });
  if (point.readbackMs !== undefined) {
    const readback = { durationMs: point.readbackMs, startMs: point.readbackStartMs };
    timeline.add(overheadTid, `readback n=${point.seqLen}`, readback, where, "transfer");
  }
}

function metadata(name: string, tid: number, args: Record<string, unknown>): TraceEvent {
  return { name, ph: "M", ts: 0, pid: PID, tid, args };
}

/** The adapter in one line, for the process label. */
function adapterText(results: ProfileResults): string {
  const adapter = results.environment.adapter;
  if (adapter === null) return "no GPU adapter";
  return `${adapter.description || adapter.device || "unnamed adapter"}${
    adapter.isSoftware ? " (software: GPU times are CPU emulation)" : ""
  }`;
}

/**
 * The trace of a profile's timed forwards (ok points only).
 *
 * @example
 * ```ts
 * import { loadResults } from "../plot/load_results.ts";
 *
 * const trace = buildTrace(await loadResults("tests/fixtures/results_full.json"));
 * if (trace.traceEvents.length === 0) throw new Error("an empty trace");
 * ```
 */
export function buildTrace(results: ProfileResults): TraceFile {
  const measured = hasStartTimes(results);
  const timeline = new Timeline(measured ? firstStartMs(results) : null);
  const overheadTid = results.series.length + 1;
  const { dModel, heads, runs, warmup, seed } = results.config;
  const setup =
    `d_model ${dModel}, ${heads} heads, ${runs} runs (+${warmup} warm-up), seed ${seed}`;
  const events: TraceEvent[] = [
    metadata("process_name", 0, { name: "self-attention profile" }),
    metadata("process_labels", 0, { labels: `${setup}; ${adapterText(results)}` }),
    ...results.series.flatMap((series, i) => [
      metadata("thread_name", i + 1, { name: `${series.name}: ${series.label}` }),
      metadata("thread_sort_index", i + 1, { sort_index: i + 1 }),
    ]),
    metadata("thread_name", overheadTid, { name: "GPU upload, empty submissions, readback" }),
    metadata("thread_sort_index", overheadTid, { sort_index: overheadTid }),
  ];
  const seqLens = [...new Set(results.series.flatMap((s) => s.points.map((p) => p.seqLen)))]
    .sort((a, b) => a - b);
  for (const seqLen of seqLens) {
    results.series.forEach((series, i) => {
      const point = series.points.find((p) => p.seqLen === seqLen);
      if (point?.status === "ok") pointEvents(timeline, series, point, i + 1, overheadTid);
    });
  }
  return {
    traceEvents: [...events, ...timeline.events],
    displayTimeUnit: "ms",
    otherData: {
      tool: results.tool,
      createdAt: results.createdAt,
      config: results.config,
      ...(results.configurations ? { configurations: results.configurations } : {}),
      adapter: results.environment.adapter,
      deno: results.environment.deno,
      cpu: results.environment.cpuModel,
      layout: measured
        ? "events at their measured starts (the profiling process's clock, from the first " +
          "event); stage offsets inside a forward from the timestamp queries"
        : "events of each point laid end to end in measurement order, 0.1 ms apart; " +
          "durations and stage offsets inside a forward are measured, gaps between events are not",
    },
  };
}
