/**
 * Template values for WGSL kernels.
 *
 * WGSL `override` constants serve workgroup sizes, but they cannot size function-scope arrays, and
 * WGSL has no unroll attribute: lavapipe (and many drivers) keep a register block in registers only
 * when every index into it is a literal. So a kernel's register-block sizes are template values,
 * substituted where its module is built, with two forms only:
 *
 * - `{{NAME}}`: replaced by the value of NAME;
 * - a block of lines between `//#unroll VAR COUNT` and `//#end` (nestable), repeated COUNT times
 *   with `{VAR}` replaced by 0, 1, …; COUNT is a number or a template value's name.
 *
 * Every value is checked (a non-negative integer) and every name must be known, so a typo fails
 * where the module is built, not as a wrong number on the GPU.
 *
 * @module
 */

/** A template value that is not a non-negative integer, an unknown name, or a malformed block. */
export class WgslTemplateError extends Error {
  override name = "WgslTemplateError";
}

/**
 * Expand the template values and unrolled blocks of a WGSL source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const source = "//#unroll i N\nlet a{i} = {{SCALE}}u * {i}u;\n//#end";
 * assert(expandWgslTemplate(source, { N: 2, SCALE: 4 }) === "let a0 = 4u * 0u;\nlet a1 = 4u * 1u;");
 * ```
 */
export function expandWgslTemplate(source: string, values: Record<string, number>): string {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new WgslTemplateError(`template value ${name} = ${value}: not a non-negative integer`);
    }
  }
  const lines = source.split("\n");
  const { output, next } = _expandLines(lines, 0, values, {}, null);
  if (next !== lines.length) throw new WgslTemplateError(`unmatched //#end at line ${next + 1}`);
  const text = output.join("\n").replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new WgslTemplateError(`unknown template value {{${name}}}`);
    return String(value);
  });
  return text;
}

const UNROLL = /^\s*\/\/#unroll\s+(\w+)\s+(\w+)\s*$/;
const END = /^\s*\/\/#end\s*$/;

function _expandLines(
  lines: string[],
  start: number,
  values: Record<string, number>,
  indices: Record<string, number>,
  openedAt: number | null,
): { output: string[]; next: number } {
  const output: string[] = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i]!;
    if (END.test(line)) {
      if (openedAt === null) {
        throw new WgslTemplateError(`//#end without //#unroll at line ${i + 1}`);
      }
      return { output, next: i };
    }
    const unroll = UNROLL.exec(line);
    if (unroll === null) {
      output.push(_substituteIndices(line, indices));
      i++;
      continue;
    }
    const [, variable, countText] = unroll as unknown as [string, string, string];
    const count = /^\d+$/.test(countText) ? Number(countText) : values[countText];
    if (count === undefined) {
      throw new WgslTemplateError(`unknown unroll count ${countText} at line ${i + 1}`);
    }
    let end = i + 1;
    for (let index = 0; index < count; index++) {
      const body = _expandLines(lines, i + 1, values, { ...indices, [variable]: index }, i);
      output.push(...body.output);
      end = body.next;
    }
    if (count === 0) end = _expandLines(lines, i + 1, values, indices, i).next;
    if (end >= lines.length) {
      throw new WgslTemplateError(`//#unroll at line ${i + 1} has no //#end`);
    }
    i = end + 1;
  }
  if (openedAt !== null) {
    throw new WgslTemplateError(`//#unroll at line ${openedAt + 1} has no //#end`);
  }
  return { output, next: i };
}

function _substituteIndices(line: string, indices: Record<string, number>): string {
  return line.replace(/\{(\w+)\}/g, (match, name: string) => {
    const index = indices[name];
    return index === undefined ? match : String(index);
  });
}
