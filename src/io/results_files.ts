/**
 * The files of a profile, built from the results object: the data files
 * `profiling_results.json`, `profiling_results.csv` (tidy: one row per series, length and run) and
 * `profiling_results.npz` (numpy arrays, NaN where a point did not run), and the report files
 * `report.md`, `report.html` and `trace.json`. All written atomically.
 *
 * @module
 */

import { join } from "node:path";
import { analyseResults } from "../analysis/analysis.ts";
import { hasSeveralConfigurations } from "../analysis/configurations.ts";
import type { PointResult, ProfileResults, SeriesName } from "../results.ts";
import {
  ALL_IMPLEMENTATIONS,
  type Implementation,
  implementationName,
  VARIANTS,
} from "../variants/registry.ts";
import { writeFileAtomic, writeTextFileAtomic } from "./atomic.ts";
import { encodeNpz, type NpyArray } from "./npz.ts";
import {
  configurationFigureFileNames,
  FIGURE_FILE_NAMES,
  renderFigureSvgs,
} from "../plot/figures.ts";
import { renderMarkdown } from "../report/document.ts";
import { fullReportBlocks, REPORT_TITLE } from "../report/full_report.ts";
import { renderHtml } from "../report/html.ts";
import { buildTrace, hasTraceData } from "./trace.ts";

/**
 * JSON has no NaN or Infinity: they are written as null. With several configurations the file
 * also gets the derived `analysis` (src/analysis/analysis.ts), for readers other than this tool.
 */
export function resultsToJson(results: ProfileResults): string {
  const written = hasSeveralConfigurations(results)
    ? { ...results, analysis: analyseResults(results) }
    : results;
  return JSON.stringify(written, (_key, value) => {
    if (typeof value === "number" && !Number.isFinite(value)) return null;
    return value;
  }, 2) + "\n";
}

function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Every stage name any series timed, in first-seen order. */
function allStageNames(results: ProfileResults): string[] {
  return [...new Set(results.series.flatMap((s) => s.stageNames ?? []))];
}

/**
 * Tidy CSV: one row per (series, n, run), with per-stage kernel ms columns (empty where a series
 * has no such stage) and the point's status, peak bytes and validation error.
 */
export function resultsToCsv(results: ProfileResults): string {
  const stages = allStageNames(results);
  const header = [
    "series",
    "device",
    "variant",
    "seq_len",
    "run",
    "wall_ms",
    ...stages.map((stage) => `kernel_ms_${stage}`),
    "status",
    "peak_bytes",
    "rel_l2_error",
  ];
  const rows = [header.join(",")];
  for (const series of results.series) {
    for (const point of series.points) {
      const runs = Math.max(point.wallMs.length, 1);
      for (let run = 0; run < runs; run++) {
        const stageMs = point.kernelMs?.[run];
        const row = [
          series.name,
          series.device,
          series.variant,
          point.seqLen,
          point.wallMs.length > 0 ? run + 1 : undefined,
          point.wallMs[run],
          ...stages.map((stage) => {
            const index = series.stageNames?.indexOf(stage) ?? -1;
            return index >= 0 ? stageMs?.[index] : undefined;
          }),
          point.status,
          point.memory?.peakBytes,
          point.validation?.relL2Error,
        ];
        rows.push(row.map(csvField).join(","));
      }
    }
  }
  return rows.join("\n") + "\n";
}

function pointAt(
  results: ProfileResults,
  name: SeriesName,
  seqLen: number,
): PointResult | undefined {
  return results.series.find((s) => s.name === name)?.points.find((p) => p.seqLen === seqLen);
}

/** Every series the NPZ holds: each implementation of the registry for each configuration. */
function npzSeries(results: ProfileResults): { name: string; implementation: Implementation }[] {
  const configurations = results.configurations ?? [];
  const several = configurations.length > 1;
  const names = (implementation: Implementation) =>
    several
      ? configurations.map((c) => `${implementationName(implementation)}__${c.id}`)
      : [implementationName(implementation)];
  // linear attention's series only where a configuration computes it
  const attentions = new Set(configurations.map((c) => c.attention));
  const present = (implementation: Implementation) =>
    implementation.device === "cpu" || VARIANTS[implementation.variant].attention === "softmax" ||
    attentions.has(VARIANTS[implementation.variant].attention);
  return ALL_IMPLEMENTATIONS.filter(present).flatMap((implementation) =>
    names(implementation).map((name) => ({ name, implementation }))
  );
}

/**
 * The NPZ arrays: `seq_lens`; per series `<series>_wall_ms` [lengths, runs] and
 * `<series>_peak_bytes` [lengths]; per GPU series `<series>_kernel_ms` [lengths, runs, stages],
 * `<series>_stage_names`, `<series>_max_abs_error` and `<series>_rel_l2_error` [lengths];
 * `stage_names` (the naive variant's stages) and `flops_<stage>` / `macs_<stage>` / `flops_total`
 * [lengths] of the first configuration, and with several configurations the same with
 * `__<configuration id>` after each. NaN marks a point that was skipped, failed or not run.
 */
export function resultsToNpzArrays(results: ProfileResults): Record<string, NpyArray> {
  const seqLens = results.config.seqLens;
  const lengths = seqLens.length;
  const runs = results.config.runs;
  const arrays: Record<string, NpyArray> = {
    seq_lens: { data: BigInt64Array.from(seqLens.map(BigInt)), shape: [lengths] },
  };
  const perLength = (value: (seqLen: number) => number | undefined) =>
    ({ data: Float64Array.from(seqLens, (n) => value(n) ?? NaN), shape: [lengths] }) as NpyArray;
  for (const { name, implementation } of npzSeries(results)) {
    const okPoint = (n: number) => {
      const point = pointAt(results, name, n);
      return point?.status === "ok" ? point : undefined;
    };
    const wallMs = new Float64Array(lengths * runs).fill(NaN);
    seqLens.forEach((n, i) => okPoint(n)?.wallMs.forEach((ms, run) => wallMs[i * runs + run] = ms));
    arrays[`${name}_wall_ms`] = { data: wallMs, shape: [lengths, runs] };
    arrays[`${name}_peak_bytes`] = perLength((n) => okPoint(n)?.memory?.peakBytes);
    if (implementation.device === "cpu") continue;
    const stageNames = results.series.find((s) => s.name === name)?.stageNames ??
      [...VARIANTS[implementation.variant].stages];
    const stages = stageNames.length;
    const kernelMs = new Float64Array(lengths * runs * stages).fill(NaN);
    seqLens.forEach((n, i) =>
      okPoint(n)?.kernelMs?.forEach((stageMs, run) =>
        stageMs.forEach((ms, stage) => kernelMs[(i * runs + run) * stages + stage] = ms)
      )
    );
    arrays[`${name}_kernel_ms`] = { data: kernelMs, shape: [lengths, runs, stages] };
    arrays[`${name}_stage_names`] = { data: stageNames, shape: [stages] };
    arrays[`${name}_max_abs_error`] = perLength((n) =>
      pointAt(results, name, n)?.validation?.maxAbsError
    );
    arrays[`${name}_rel_l2_error`] = perLength((n) =>
      pointAt(results, name, n)?.validation?.relL2Error
    );
  }
  arrays.stage_names = { data: [...VARIANTS.naive.stages], shape: [VARIANTS.naive.stages.length] };
  const configurations = results.configurations ?? [];
  const workOf = (id: string | undefined, suffix: string) => {
    const table = results.flops.filter((f) => id === undefined || f.configurationId === id);
    const at = (n: number) => table.find((f) => f.seqLen === n);
    for (const stage of Object.keys(table[0]?.flopsByStage ?? {})) {
      arrays[`flops_${stage}${suffix}`] = perLength((n) => at(n)?.flopsByStage[stage]);
      arrays[`macs_${stage}${suffix}`] = perLength((n) => at(n)?.macsByStage[stage]);
    }
    arrays[`flops_total${suffix}`] = perLength((n) => at(n)?.totalFlops);
  };
  workOf(configurations[0]?.id, "");
  if (configurations.length > 1) { for (const c of configurations) workOf(c.id, `__${c.id}`); }
  return arrays;
}

/** Names of the data files in the output folder. */
export const DATA_FILES = {
  json: "profiling_results.json",
  csv: "profiling_results.csv",
  npz: "profiling_results.npz",
} as const;

/** Write the three data files into `outDir` (created if needed), each atomically. */
export async function writeResultsFiles(
  results: ProfileResults,
  outDir: string,
): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const paths = [
    join(outDir, DATA_FILES.json),
    join(outDir, DATA_FILES.csv),
    join(outDir, DATA_FILES.npz),
  ];
  await writeTextFileAtomic(paths[0]!, resultsToJson(results));
  await writeTextFileAtomic(paths[1]!, resultsToCsv(results));
  await writeFileAtomic(paths[2]!, encodeNpz(resultsToNpzArrays(results)));
  return paths;
}

/** Names of the report files in the output folder. */
export const REPORT_FILES = {
  markdown: "report.md",
  html: "report.html",
  trace: "trace.json",
} as const;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Render report.md, report.html and — when the results hold the stages' begin times (files from
 * before them do not) — trace.json, then write them into `outDir` (which must exist), each
 * atomically. The reports link the other outputs present in `outDir`. Returns the paths written.
 */
export async function writeReportFiles(
  results: ProfileResults,
  outDir: string,
): Promise<string[]> {
  const outputs: [string, string][] = [];
  if (hasTraceData(results)) {
    outputs.push([REPORT_FILES.trace, JSON.stringify(buildTrace(results)) + "\n"]);
  }
  const others = [
    ...Object.values(DATA_FILES),
    ...Object.values(FIGURE_FILE_NAMES),
    ...configurationFigureFileNames(results),
  ];
  const present = [];
  for (const name of others) if (await exists(join(outDir, name))) present.push(name);
  const blocks = fullReportBlocks(results, [...present, ...outputs.map(([name]) => name)]);
  const figures = await renderFigureSvgs(results, { pointTitles: true });
  outputs.push(
    [REPORT_FILES.markdown, renderMarkdown(blocks)],
    [
      REPORT_FILES.html,
      renderHtml(REPORT_TITLE, blocks, {
        profiling: figures.profilingSvg,
        kernelBreakdown: figures.kernelBreakdownSvg,
      }),
    ],
  );
  const paths: string[] = [];
  for (const [name, text] of outputs) {
    const path = join(outDir, name);
    await writeTextFileAtomic(path, text);
    paths.push(path);
  }
  return paths;
}
