import assert from "node:assert/strict";
import { packWeightPanels, weightPanelsLength } from "../src/gpu/weight_panels.ts";

Deno.test("packWeightPanels() puts (row, col) at (col / w, row, col % w), zero past cols", () => {
  const cases: [number, number, number][] = [[5, 12, 4], [3, 10, 4], [8, 32, 32], [2, 3, 8]];
  for (const [inner, cols, panelCols] of cases) {
    const matrix = Float32Array.from({ length: inner * cols }, () => Math.random() + 1);
    const packed = packWeightPanels(matrix, inner, cols, panelCols);
    assert.equal(packed.length, weightPanelsLength(inner, cols, panelCols));
    assert.equal(packed.length, Math.ceil(cols / panelCols) * inner * panelCols);
    let copied = 0;
    for (let row = 0; row < inner; row++) {
      for (let col = 0; col < cols; col++) {
        const panel = Math.floor(col / panelCols);
        const at = (panel * inner + row) * panelCols + (col % panelCols);
        assert.equal(packed[at], matrix[row * cols + col], `(${row}, ${col})`);
        copied++;
      }
    }
    // every other value is padding, and zero
    assert.equal(packed.filter((value) => value !== 0).length, copied);
  }
});

Deno.test("packWeightPanels() refuses a matrix of the wrong size", () => {
  assert.throws(() => packWeightPanels(new Float32Array(5), 2, 3, 4), /2×3 matrix has 6 values/);
});
