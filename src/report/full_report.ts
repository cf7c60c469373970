/**
 * The report of a profile as a document for report.md and report.html: the console report's
 * blocks (src/report.ts) with the figures first, an environment table, and links to the files
 * beside it. The same blocks render as Markdown and as HTML.
 *
 * @module
 */

import { backendPhrase } from "../gpu/backends.ts";
import { FIGURE_FILE_NAMES } from "../plot/figures.ts";
import { analysisItems, formatBytes, reportTables, setupLines } from "../report.ts";
import type { ProfileResults } from "../results.ts";
import type { ReportBlock, TableBlock } from "./document.ts";

/** The title of report.md and report.html. */
export const REPORT_TITLE = "Self-attention profile";

/** Where and with what the profile ran, one row per fact. */
export function environmentTable(results: ProfileResults): TableBlock {
  const env = results.environment;
  const adapter = env.adapter;
  const config = results.config;
  const rows: [string, string][] = [
    ["created", results.createdAt],
    ["Deno", `${env.deno} (V8 ${env.v8}, TypeScript ${env.typescript})`],
    ["OS", `${env.os} ${env.arch}`],
    ["CPU", `${env.cpuModel}, ${env.cpuCores} cores`],
    ["memory", Number.isFinite(env.totalMemoryBytes) ? formatBytes(env.totalMemoryBytes) : "?"],
    [
      "GPU adapter",
      adapter === null
        ? "none"
        : `${adapter.description || adapter.device} (${
          adapter.isSoftware ? "software adapter: GPU numbers are CPU emulation" : "hardware"
        }; vendor ${adapter.vendor || "?"}, architecture ${adapter.architecture || "?"}${
          backendPhrase(adapter) ? `, WebGPU backend ${backendPhrase(adapter)}` : ""
        })`,
    ],
    [
      "calibration",
      results.calibration === undefined
        ? "none"
        : `matmul ${results.calibration.gpu.matmulGflops.toFixed(1)} GFLOP/s, copy ${
          results.calibration.gpu.copyGBps.toFixed(1)
        } GB/s (${results.calibration.calibratedAt})`,
    ],
    [
      "tuned kernels",
      Object.keys(results.tunedKernelParameters ?? {}).join(", ") || "none (built-in parameters)",
    ],
    ["lengths", config.seqLens.join(", ")],
    [
      "devices, variants, precisions",
      [config.devices, config.variants, config.precisions].join("; "),
    ],
    ["runs", `${config.runs} timed after ${config.warmup} warm-up, seed ${config.seed}`],
    ["interrupted", results.interrupted ? "yes: only the finished points are here" : "no"],
  ];
  return { kind: "table", header: ["what", "value"], rows, labelColumns: 2 };
}

/**
 * The whole document: title and setup, the 2×2 figure, the kernel breakdown, every table, the
 * environment, the analysis, and links to `files` (the other outputs beside the report).
 */
export function fullReportBlocks(
  results: ProfileResults,
  files: readonly string[],
): ReportBlock[] {
  return [
    { kind: "heading", text: REPORT_TITLE, level: 1 },
    { kind: "paragraph", lines: setupLines(results) },
    {
      kind: "figure",
      id: "profiling",
      alt: "Time, memory and work of a forward against the sequence length (2×2)",
      png: FIGURE_FILE_NAMES.profilingPng,
      svg: FIGURE_FILE_NAMES.profilingSvg,
    },
    { kind: "heading", text: "GPU time per stage" },
    {
      kind: "figure",
      id: "kernelBreakdown",
      alt: "GPU kernel time per stage, length and variant",
      png: FIGURE_FILE_NAMES.kernelBreakdownPng,
      svg: FIGURE_FILE_NAMES.kernelBreakdownSvg,
    },
    { kind: "heading", text: "Tables" },
    ...reportTables(results),
    { kind: "heading", text: "Environment" },
    environmentTable(results),
    { kind: "heading", text: "Analysis" },
    { kind: "list", items: analysisItems(results) },
    { kind: "heading", text: "Files" },
    { kind: "links", links: files.map((file) => ({ text: file, href: file })) },
  ];
}
