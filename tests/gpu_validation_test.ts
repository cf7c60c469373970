import assert from "node:assert/strict";
import { compareOutputs } from "../src/gpu/validation.ts";

Deno.test("compareOutputs() reports max abs and relative L2 error against the tolerance", () => {
  const cpu = new Float32Array([3, 4]);
  const gpu = new Float32Array([3, 4.5]);
  const result = compareOutputs(gpu, cpu, 0.2);
  assert.deepStrictEqual(result.maxAbsError, 0.5);
  assert.deepStrictEqual(result.relL2Error, 0.5 / 5);
  assert.deepStrictEqual(result.tolerance, 0.2);
  assert.ok(result.passed);
  assert.ok(!compareOutputs(gpu, cpu, 0.05).passed);
});

Deno.test("compareOutputs() fails on NaN or infinity anywhere, and on different lengths", () => {
  const cpu = new Float32Array([1, 2, 3]);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const result = compareOutputs(new Float32Array([1, bad, 3]), cpu, 1);
    assert.ok(!result.passed);
    assert.ok(Number.isNaN(result.relL2Error));
  }
  assert.ok(!compareOutputs(new Float32Array([1, 2, 3]), new Float32Array([1, NaN, 3]), 1).passed);
  assert.ok(!compareOutputs(new Float32Array(2), cpu, 1).passed);
});

Deno.test("compareOutputs() passes identical outputs, also all zeros", () => {
  const zeros = new Float32Array(4);
  const result = compareOutputs(zeros, zeros, 1e-4);
  assert.ok(result.passed);
  assert.deepStrictEqual(result.relL2Error, 0);
});

Deno.test("compareOutputs() catches one wrong element that the relative L2 error would hide", () => {
  const cpu = new Float32Array(1_000_000).map((_, i) => Math.sin(i));
  const gpu = cpu.slice();
  gpu[123_456] = cpu[123_456]! + 0.05; // one element off by 0.05 in a million
  const result = compareOutputs(gpu, cpu, 1e-4);
  assert.ok(result.relL2Error < 1e-4, `rel L2 ${result.relL2Error} should hide it`);
  assert.equal(result.mismatchCount, 1);
  assert.deepStrictEqual(result.firstMismatches, [123_456]);
  assert.ok(!result.passed);
});
