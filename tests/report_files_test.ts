/**
 * report.md and report.html: the console report's tables and analysis in Markdown and in one
 * self-contained page (nothing loaded from elsewhere, the figure first, hover texts on the time
 * panel's points), and `plot --from` rewriting them (and trace.json when the file allows it).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeReportFiles } from "../src/io/results_files.ts";
import { analysisItems, reportTables } from "../src/report.ts";
import type { ProfileResults } from "../src/results.ts";

const PLOT = fileURLToPath(new URL("../src/cli/plot.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/results_skipped.json", import.meta.url));
const fixture: ProfileResults = JSON.parse(await Deno.readTextFile(FIXTURE));

async function writtenReports(results: ProfileResults) {
  const out = await Deno.makeTempDir({ prefix: "report_files_" });
  try {
    const paths = await writeReportFiles(results, out);
    return {
      names: paths.map((path) => path.slice(out.length + 1)),
      markdown: await Deno.readTextFile(`${out}/report.md`),
      html: await Deno.readTextFile(`${out}/report.html`),
    };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

Deno.test("report.md has every table of the console report, the analysis and the figures", async () => {
  const { names, markdown } = await writtenReports(fixture);
  assert.deepEqual(names, ["report.md", "report.html"]); // no begin times: no trace
  const lines = markdown.split("\n");
  const tableLines = lines.filter((line) => line.includes(" | "));
  assert.ok(tableLines.every((line) => line.startsWith("| ") && line.endsWith(" |")));
  const tables = reportTables(fixture);
  // every table's header row, plus the environment's
  assert.equal(lines.filter((line) => /^\| (---|:?-+:?) \|/.test(line)).length, tables.length + 1);
  for (const table of tables) {
    for (const row of table.rows) assert.ok(lines.includes(`| ${row.join(" | ")} |`), row[0]);
  }
  for (const item of analysisItems(fixture)) {
    assert.ok(markdown.includes(`- ${item.split("\n")[0]}`), item);
  }
  assert.match(markdown, /^# Self-attention profile\n/);
  assert.match(markdown, /!\[[^\]]+\]\(self_attention_profiling\.png\)/);
  assert.match(markdown, /## Environment\n\n\| what \| value \|/);
  assert.match(markdown, /\| Deno \| 2\.9\.6 /);
});

Deno.test("report.html is self-contained, figure first, with hover texts on the time panel", async () => {
  const { html } = await writtenReports(fixture);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  // nothing loaded: no src at all, no link or url() to another host
  assert.doesNotMatch(html, /\ssrc\s*=/i);
  assert.doesNotMatch(html, /(href|xlink:href)\s*=\s*["']?[a-z][a-z0-9+.-]*:/i);
  assert.doesNotMatch(html, /url\(\s*["']?(?!#)/i);
  assert.doesNotMatch(html, /<link\b|<script\b|@import/i);
  // the 2×2 figure before the first table
  const figure = html.indexOf("Wall Clock Time vs Sequence Length");
  assert.ok(figure > 0 && figure < html.indexOf("<table"));
  const okPoints = fixture.series.flatMap((s) => s.points).filter((p) => p.status === "ok");
  const titles = [...html.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!).slice(1);
  assert.equal(titles.length, okPoints.length);
  assert.match(
    titles[0]!,
    /^CPU .*\[cpu\]\nn = 10\nmean ± SEM: [\d.]+ ms ± [\d.]+ ms\nmedian: [\d.]+ ms$/,
  );
  assert.equal((html.match(/<table>/g) ?? []).length, reportTables(fixture).length + 1);
  assert.match(html, /<h2>Analysis<\/h2>\n<ul><li>cpu: time ∝ n\^/);
  assert.match(html, /<h2>Environment<\/h2>/);
});

Deno.test("plot --from rewrites report.md, report.html and, with begin times, trace.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "plot_reports_" });
  try {
    const withStarts: ProfileResults = structuredClone(fixture);
    for (const point of withStarts.series.flatMap((s) => s.points)) {
      point.kernelStartMs = point.kernelMs?.map((run) => run.map(() => 0));
    }
    for (const [name, results] of [["old", fixture], ["new", withStarts]] as const) {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.writeTextFile(`${dir}/${name}/profiling_results.json`, JSON.stringify(results));
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--config", CONFIG, "-A", PLOT, "--from", `${dir}/${name}`],
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    }
    const listing = async (name: string) => {
      const names = [];
      for await (const entry of Deno.readDir(`${dir}/${name}`)) names.push(entry.name);
      return names.filter((n) => /^(report|trace)/.test(n)).sort();
    };
    assert.deepEqual(await listing("old"), ["report.html", "report.md"]);
    assert.deepEqual(await listing("new"), ["report.html", "report.md", "trace.json"]);
    assert.match(
      await Deno.readTextFile(`${dir}/new/report.md`),
      /- \[trace\.json\]\(trace\.json\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plot --from and compare read the schemaVersion 2 files the profile writes", async () => {
  const { parseResults } = await import("../src/plot/load_results.ts");
  const v2 = { ...structuredClone(fixture), schemaVersion: 2 };
  assert.equal(parseResults(JSON.stringify(v2), "v2.json").schemaVersion, 2);
});
