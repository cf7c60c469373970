/**
 * Weight panels: the layout in which the register-layout projection kernel reads its weight
 * matrix. A row-major [inner, cols] matrix becomes ⌈cols / panelCols⌉ panels, each its `inner`
 * rows of `panelCols` columns, the last one zero-padded: a workgroup's columns are one panel, so
 * each step along `inner` reads one contiguous run instead of rows `cols` apart.
 *
 * @module
 */

/**
 * Pack row-major `matrix` [inner, cols] into panels of `panelCols` columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * // [[1, 2, 3], [4, 5, 6]] in panels of 2 columns: [[1, 2], [4, 5]], [[3, 0], [6, 0]]
 * const panels = packWeightPanels(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, 2);
 * assert(panels.join() === "1,2,4,5,3,0,6,0");
 * ```
 */
export function packWeightPanels(
  matrix: Float32Array,
  inner: number,
  cols: number,
  panelCols: number,
): Float32Array {
  if (matrix.length !== inner * cols) {
    throw new RangeError(
      `a ${inner}×${cols} matrix has ${inner * cols} values, not ${matrix.length}`,
    );
  }
  const panels = Math.ceil(cols / panelCols);
  const packed = new Float32Array(panels * inner * panelCols);
  for (let panel = 0; panel < panels; panel++) {
    const firstCol = panel * panelCols;
    const width = Math.min(panelCols, cols - firstCol);
    for (let row = 0; row < inner; row++) {
      const from = row * cols + firstCol;
      packed.set(matrix.subarray(from, from + width), (panel * inner + row) * panelCols);
    }
  }
  return packed;
}

/** Values of the packed matrix: what its buffer holds. */
export function weightPanelsLength(inner: number, cols: number, panelCols: number): number {
  return Math.ceil(cols / panelCols) * inner * panelCols;
}
