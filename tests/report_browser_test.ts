/**
 * report.html in a real browser: headless Chromium opens the page from a file, with no console
 * message (the page has no script, so any message is a failure: a bad resource, a parse error),
 * and its screenshot shows the 2×2 figure in the first screen; through the DevTools protocol, the
 * mouse moved onto a point of the time panel hovers the element whose `<title>` (the tooltip the
 * browser shows) gives its series, n, mean ± SEM and median. Without a browser the tests are
 * skipped with a message, except in CI (CI=true), where they fail. The screenshot is kept in
 * tests/snapshots/report_html.png (written when missing, outside CI; delete it to renew it).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeReportFiles } from "../src/io/results_files.ts";
import type { ProfileResults } from "../src/results.ts";
import { decodePng } from "./png_pixels.ts";

const IN_CI = Deno.env.get("CI") === "true";
const SCREENSHOT = fileURLToPath(new URL("./snapshots/report_html.png", import.meta.url));
const WINDOW = { width: 1280, height: 900 };

/** The first Chromium on PATH ($CHROMIUM first), or null. */
async function findChromium(): Promise<string | null> {
  const names = [Deno.env.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"];
  for (const name of names.filter((n): n is string => Boolean(n))) {
    try {
      const { success } = await new Deno.Command(name, { args: ["--version"], stdout: "null" })
        .output();
      if (success) return name;
    } catch {
      // not installed under this name
    }
  }
  return null;
}

const CHROMIUM = await findChromium();
if (CHROMIUM === null && !IN_CI) {
  console.log("browser tests skipped: no chromium on PATH (apt-get install chromium)");
}

/** Chromium headless in a fresh profile folder, at the test's window size. */
function headlessArgs(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox", // CI runs as root
    "--disable-gpu",
    "--no-first-run",
    `--user-data-dir=${profile}`,
    `--window-size=${WINDOW.width},${WINDOW.height}`,
  ];
}

/** Open `page` headless; its console messages and a screenshot of the first screen. */
async function openInChromium(page: string): Promise<{ console: string[]; png: Uint8Array }> {
  if (CHROMIUM === null) throw new Error("CI=true but no chromium on PATH");
  const profile = await Deno.makeTempDir({ prefix: "chromium_profile_" });
  const png = `${profile}/screenshot.png`;
  try {
    const output = await new Deno.Command(CHROMIUM, {
      args: [
        ...headlessArgs(profile),
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--log-level=0",
        `--screenshot=${png}`,
        `file://${page}`,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const log = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, log);
    return {
      console: log.split("\n").filter((line) => /:CONSOLE[:(]/.test(line)),
      png: await Deno.readFile(png),
    };
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** Share of pixels that are not (nearly) white, and whether a colour appears (±24 per channel). */
function pixelStats(png: Uint8Array, color: [number, number, number]) {
  const { width, height, channels, pixels } = decodePng(png);
  let inked = 0, matching = 0;
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [0, 1, 2].map((c) => pixels[i * channels + c]!) as [number, number, number];
    if (r < 240 || g < 240 || b < 240) inked++;
    if ([r, g, b].every((value, c) => Math.abs(value - color[c]!) <= 24)) matching++;
  }
  return { width, height, inkedShare: inked / (width * height), matching };
}

Deno.test({
  name: "report.html renders in Chromium without console messages, the figure in the first screen",
  ignore: CHROMIUM === null && !IN_CI,
  async fn() {
    const results: ProfileResults = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/results_full.json", import.meta.url)),
    );
    const out = await Deno.makeTempDir({ prefix: "report_html_" });
    try {
      await writeReportFiles(results, out);
      const { console: messages, png } = await openInChromium(`${out}/report.html`);
      assert.deepEqual(messages, []);
      const stats = pixelStats(png, [0x00, 0x72, 0xb2]); // the CPU series' colour
      assert.equal(stats.width, WINDOW.width);
      assert.equal(stats.height, WINDOW.height);
      // text and a figure, not a blank page; the CPU line of the time panel is on screen
      assert.ok(stats.inkedShare > 0.03, `only ${(100 * stats.inkedShare).toFixed(1)} % inked`);
      assert.ok(stats.matching > 200, `${stats.matching} pixels of the CPU series' colour`);
      if (!IN_CI) {
        await Deno.writeFile(SCREENSHOT, png, { createNew: true }).catch((error) => {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        });
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

/** A Chrome DevTools Protocol session on one page: `send` a command, get its result. */
interface DevToolsPage {
  send(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Open `page` in headless Chromium with a DevTools port, and attach to it. */
async function openDevTools(page: string): Promise<DevToolsPage> {
  if (CHROMIUM === null) throw new Error("CI=true but no chromium on PATH");
  const profile = await Deno.makeTempDir({ prefix: "chromium_devtools_" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      ...headlessArgs(profile),
      "--remote-debugging-port=0",
      `file://${page}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" on stderr
  let log = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  while (!/ws:\/\/127\.0\.0\.1:(\d+)\//.test(log)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Chromium exited before its DevTools port: ${log}`);
    log += decoder.decode(value);
  }
  reader.releaseLock();
  child.stderr.cancel();
  const port = log.match(/ws:\/\/127\.0\.0\.1:(\d+)\//)![1];
  let target: { type: string; url: string; webSocketDebuggerUrl: string } | undefined;
  for (let attempt = 0; attempt < 100 && target === undefined; attempt++) {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    target = targets.find((t: { type: string; url: string }) =>
      t.type === "page" && t.url.startsWith("file://")
    );
    if (target === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const pending = new Map<number, (message: Record<string, unknown>) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message);
  };
  let nextId = 1;
  return {
    send(method, params = {}) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) =>
        pending.set(
          id,
          (message) =>
            message.error
              ? reject(new Error(`${method}: ${JSON.stringify(message.error)}`))
              : resolve(message.result as Record<string, unknown>),
        )
      );
    },
    async close() {
      socket.close();
      child.kill();
      await child.status;
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/**
 * Poll until `condition` (a JavaScript expression) holds in the page: the DevTools target exists
 * from the start of the navigation, so the first evaluations may run in the blank page before it,
 * or in a context that the navigation then destroys (an error: tried again).
 */
async function waitUntil(page: DevToolsPage, condition: string, attempts = 600): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await evaluate(page, condition).catch(() => false) === true) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the page never reached ${condition}`);
}

/** A JavaScript expression's value in the page. */
async function evaluate(page: DevToolsPage, expression: string): Promise<unknown> {
  const { result } = await page.send("Runtime.evaluate", { expression, returnByValue: true });
  return (result as { value: unknown }).value;
}

Deno.test({
  name:
    "hovering a point of report.html's time panel in Chromium reaches its series, n, mean ± SEM and median",
  ignore: CHROMIUM === null && !IN_CI,
  async fn() {
    const results: ProfileResults = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/results_full.json", import.meta.url)),
    );
    const out = await Deno.makeTempDir({ prefix: "report_hover_" });
    await writeReportFiles(results, out);
    const page = await openDevTools(`${out}/report.html`);
    try {
      await waitUntil(
        page,
        "location.protocol === 'file:' && document.readyState === 'complete' && " +
          "document.querySelector('svg title') !== null",
      );
      // where the first titled point of the figure is on screen
      const center = await evaluate(
        page,
        `(() => {
          const title = [...document.querySelectorAll("svg title")]
            .find((t) => t.textContent.includes("mean ± SEM"));
          const box = title.parentElement.getBoundingClientRect();
          return { x: box.x + box.width / 2, y: box.y + box.height / 2, text: title.textContent };
        })()`,
      ) as { x: number; y: number; text: string };
      await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: center.x, y: center.y });
      const overFigure =
        "[...document.querySelectorAll(':hover')].some((e) => e instanceof SVGElement)";
      // a hover that never reaches the figure (2 s) fails the comparison below
      await waitUntil(page, overFigure, 20).catch(() => {});
      // the innermost hovered element, and the hover text the browser shows for it
      const hovered = await evaluate(
        page,
        `(() => {
          const under = [...document.querySelectorAll(":hover")].at(-1);
          const titled = under?.closest("svg :is(g, path, circle, line, rect):has(> title)");
          return titled?.querySelector(":scope > title")?.textContent ?? null;
        })()`,
      ) as string | null;
      assert.equal(hovered, center.text);
      const series = results.series[0]!;
      assert.match(
        hovered!,
        new RegExp(`\\[${series.name}\\]\\nn = ${series.points[0]!.seqLen}\\n`),
      );
      assert.match(hovered!, /mean ± SEM: [\d.e+-]+ ms ± [\d.e+-]+ ms\nmedian: [\d.e+-]+ ms$/);
    } finally {
      await page.close();
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "the browser check catches console errors and a blank page",
  ignore: CHROMIUM === null && !IN_CI,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report_bad_" });
    try {
      await Deno.writeTextFile(
        `${dir}/bad.html`,
        "<!DOCTYPE html><html><body><script>console.error('broken');</script></body></html>",
      );
      const { console: messages, png } = await openInChromium(`${dir}/bad.html`);
      assert.equal(messages.length, 1);
      assert.match(messages[0]!, /broken/);
      assert.ok(pixelStats(png, [0x00, 0x72, 0xb2]).inkedShare < 0.01);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
