import assert from "node:assert/strict";
import { studentTCdf, studentTQuantile } from "../src/student_t.ts";

function assertRelative(actual: number, expected: number, tolerance: number, what: string): void {
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= tolerance, `${what}: ${actual} vs ${expected} (relative error ${error})`);
}

// [df, p, t]: scipy.stats.t.ppf 1.17.1 (df = 1 and 2 also have closed forms, checked below)
const TABLE: [number, number, number][] = [
  [1, 0.975, 12.706204736174694],
  [1, 0.995, 63.656741162871526],
  [1, 0.999999, 318309.88617359026],
  [2, 0.975, 4.302652729749462],
  [2, 0.9, 1.8856180831641272],
  [3, 0.975, 3.1824463052837078],
  [5, 0.975, 2.5705818356363146],
  [5, 0.999999, 24.771029720372493],
  [7, 0.975, 2.364624251592784],
  [10, 0.995, 3.16927267261695],
  [19, 0.975, 2.0930240544083087],
  [19, 0.6, 0.25692281979615467],
  [30, 0.975, 2.0422724563012378],
  [100, 0.975, 1.9839715185235518],
  [1000, 0.975, 1.9623390808264083],
  [1e6, 0.975, 1.959966356814107],
  [1e6, 0.995, 2.5758342201053344],
  [1e6, 0.6, 0.25334717053784184],
];

Deno.test("studentTQuantile() matches table values to 1e-9 relative, and is odd in p − ½", () => {
  for (const [df, p, t] of TABLE) {
    assertRelative(studentTQuantile(p, df), t, 1e-9, `t(${p}, ${df})`);
    assertRelative(studentTQuantile(1 - p, df), -t, 1e-9, `t(${1 - p}, ${df})`);
  }
});

Deno.test("studentTQuantile() matches the closed forms of df = 1 and df = 2", () => {
  for (const p of [0.51, 0.6, 0.75, 0.9, 0.975, 0.99, 0.9999]) {
    assertRelative(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-12, `df 1, p ${p}`);
    const closed = (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
    assertRelative(studentTQuantile(p, 2), closed, 1e-12, `df 2, p ${p}`);
  }
});

Deno.test("studentTCdf() inverts studentTQuantile() and is ½ at 0", () => {
  for (const df of [1, 2.5, 9, 50, 1e4]) {
    for (const p of [0.001, 0.2, 0.5, 0.8, 0.975]) {
      const t = studentTQuantile(p, df);
      assert.ok(Math.abs(studentTCdf(t, df) - p) < 1e-13, `df ${df}, p ${p}`);
    }
    assert.equal(studentTCdf(0, df), 0.5);
  }
});

Deno.test("studentTQuantile() gives ±Infinity at 0 and 1 and NaN outside", () => {
  assert.equal(studentTQuantile(1, 5), Infinity);
  assert.equal(studentTQuantile(0, 5), -Infinity);
  assert.ok(Number.isNaN(studentTQuantile(1.5, 5)));
  assert.ok(Number.isNaN(studentTQuantile(0.5, 0)));
});
