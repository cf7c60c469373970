import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>");
const data = [{ n: 10, t: 0.5 }, { n: 100, t: 2 }, { n: 1000, t: 50 }, { n: 10000, t: NaN }];
const svg = Plot.plot({
  document,
  width: 500,
  height: 300,
  x: { type: "log", label: "n" },
  y: { type: "log", grid: true, label: "ms" },
  marks: [
    Plot.line(data, { x: "n", y: "t", stroke: "#0072B2" }),
    Plot.dot(data, { x: "n", y: "t", fill: "#0072B2" }),
    Plot.text(["hello ∝ n^1.98 ⁻¹²"], { frameAnchor: "top-left", dx: 5, dy: 5 }),
  ],
}) as unknown as Element;
const s = (svg as any).outerHTML as string;
console.log(s.slice(0, 1500));
const t0 = performance.now();
await initWasm(
  await Deno.readFile(new URL(import.meta.resolve("@resvg/resvg-wasm/index_bg.wasm"))),
);
console.log("init", performance.now() - t0);
const font = await Deno.readFile(
  new URL(import.meta.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf")),
);
const t1 = performance.now();
const out =
  `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="300" font-family="DejaVu Sans">${
    s.replace(/<style>[\s\S]*?<\/style>/, "")
  }</svg>`;
const r = new Resvg(out, {
  background: "white",
  fitTo: { mode: "zoom", value: 2 },
  font: { fontBuffers: [font], loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" } as any,
});
const png = r.render().asPng();
console.log("render", performance.now() - t1, png.length);
await Deno.writeFile("/tmp/exp/proto.png", png);
