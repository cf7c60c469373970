import assert from "node:assert/strict";
import { expandWgslTemplate, WgslTemplateError } from "../src/gpu/wgsl_template.ts";

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
