import assert from "node:assert/strict";
import {
  expandWgslTemplate,
  resolveWgslIncludes,
  WgslTemplateError,
  wgslTemplateNames,
} from "../src/gpu/wgsl_template.ts";
import { type KernelLayout, KERNELS, kernelSource, WGSL_FILES } from "../src/gpu/kernels.ts";

Deno.test("expandWgslTemplate() substitutes values and repeats nested unroll blocks", () => {
  const source = [
    "const R: u32 = {{ROWS}}u;",
    "//#unroll i ROWS",
    "  //#unroll j 2",
    "var acc_{i}_{j} = {i}u + {j}u;",
    "  //#end",
    "//#end",
    "done {k}",
  ].join("\n");
  assert.deepStrictEqual(
    expandWgslTemplate(source, { ROWS: 2 }),
    [
      "const R: u32 = 2u;",
      "var acc_0_0 = 0u + 0u;",
      "var acc_0_1 = 0u + 1u;",
      "var acc_1_0 = 1u + 0u;",
      "var acc_1_1 = 1u + 1u;",
      "done {k}",
    ].join("\n"),
  );
});

Deno.test("expandWgslTemplate() with a zero count drops the block", () => {
  assert.deepStrictEqual(expandWgslTemplate("a\n//#unroll i 0\nb{i}\n//#end\nc", {}), "a\nc");
});

Deno.test("expandWgslTemplate() rejects unknown names, bad values and unmatched blocks", () => {
  assert.throws(() => expandWgslTemplate("{{MISSING}}", {}), WgslTemplateError);
  assert.throws(() => expandWgslTemplate("x", { ROWS: 1.5 }), WgslTemplateError);
  assert.throws(() => expandWgslTemplate("x", { ROWS: -1 }), WgslTemplateError);
  assert.throws(() => expandWgslTemplate("//#unroll i N\nx\n//#end", {}), WgslTemplateError);
  assert.throws(() => expandWgslTemplate("//#unroll i 2\nx", {}), WgslTemplateError);
  assert.throws(() => expandWgslTemplate("x\n//#end", {}), WgslTemplateError);
});

Deno.test("resolveWgslIncludes() inlines nested includes once each, inside functions too", () => {
  const library = {
    "decl.wgsl": "const A: u32 = {{A}}u;",
    "step.wgsl": "//#include decl.wgsl\n//#unroll i 2\nx += A * {i}u;\n//#end\n",
  };
  const source = "//#include decl.wgsl\nfn f() {\n  //#include step.wgsl\n}";
  const resolved = resolveWgslIncludes(source, library);
  assert.equal(
    resolved,
    "const A: u32 = {{A}}u;\nfn f() {\n//#unroll i 2\nx += A * {i}u;\n//#end\n}",
  );
  assert.equal(
    expandWgslTemplate(resolved, { A: 3 }),
    "const A: u32 = 3u;\nfn f() {\nx += A * 0u;\nx += A * 1u;\n}",
  );
  assert.throws(() => resolveWgslIncludes("//#include nowhere.wgsl", library), /nowhere\.wgsl/);
});

Deno.test("wgslTemplateNames() lists substituted values and named unroll counts", () => {
  const source = "const R = {{ROWS}}u;\n//#unroll i COLS\n//#unroll j 4\n{{ROWS}}\n//#end\n//#end";
  assert.deepStrictEqual(wgslTemplateNames(source), ["COLS", "ROWS"]);
});

Deno.test("code shared by kernels exists once: included by name, copied nowhere", () => {
  const includes = (file: string) =>
    [...WGSL_FILES[file]!.matchAll(/^\s*\/\/#include (\S+)$/gm)].map((m) => m[1]!);
  const includers = new Map<string, string[]>();
  for (const file of Object.keys(WGSL_FILES)) {
    for (const included of includes(file)) {
      includers.set(included, [...includers.get(included) ?? [], file]);
    }
  }
  const shared = [...includers].filter(([, by]) => by.length >= 2).map(([file]) => file);
  for (
    const file of [
      "flash_step.wgsl",
      "flash_prologue.wgsl",
      "tile_prologue.wgsl",
      "score_window.wgsl",
      "mask.wgsl",
    ]
  ) {
    assert.ok(shared.includes(file), `${file} is included by ${includers.get(file)}`);
  }
  // no line of code of a shared file appears in a file that includes it (comments, braces and
  // the declarations every module has aside)
  for (const file of shared) {
    const lines = WGSL_FILES[file]!.split("\n").map((line) => line.trim())
      .filter((line) => line.length >= 20 && !/^(\/\/|\/\*|@|override )/.test(line));
    for (const other of includers.get(file)!) {
      const source = WGSL_FILES[other]!;
      const copied = lines.filter((line) => source.split("\n").some((l) => l.trim() === line));
      assert.deepStrictEqual(copied, [], `${other} copies ${file}`);
    }
  }
});

Deno.test("every layout of every kernel assembles: includes known, one Params, template complete", () => {
  for (const kernel of Object.values(KERNELS)) {
    for (const layout of Object.keys(kernel.layouts) as KernelLayout[]) {
      const source = kernelSource(kernel, layout);
      assert.doesNotMatch(source, /\/\/#include/, `${kernel.id} ${layout}`);
      assert.ok((source.match(/^struct Params/gm) ?? []).length <= 1, `${kernel.id} ${layout}`);
      const values = Object.fromEntries(wgslTemplateNames(source).map((name) => [name, 1]));
      assert.doesNotMatch(expandWgslTemplate(source, values), /\{\{|\/\/#/, `${kernel.id}`);
    }
  }
});
