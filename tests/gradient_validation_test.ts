import assert from "node:assert/strict";
import { type AttentionGradients, GRADIENTS } from "../src/gradients.ts";
import { compareGradients } from "../src/gpu/gradient_validation.ts";

/** Gradients of one value per tensor, `overrides` replacing some. */
function gradients(overrides: Partial<Record<string, number[]>>): AttentionGradients {
  return Object.fromEntries(
    GRADIENTS.map(({ name }) => [name, new Float32Array(overrides[name] ?? [1, -2, 3])]),
  ) as AttentionGradients;
}

Deno.test("compareGradients() holds a vanished query-key gradient (one key per query) to its value partner's scale", () => {
  // n = 1: the softmax of a single score is 1, so dW_q, db_q, dW_k and db_k are exactly zero
  const zero = { wQ: [0, 0, 0], bQ: [0, 0, 0], wK: [0, 0, 0], bK: [0, 0, 0] };
  const want = gradients(zero);
  const rounding = { wQ: [1e-8, -2e-8, 0], bQ: [3e-9, 0, 0], wK: [0, 1e-8, 0], bK: [0, 0, 2e-8] };
  const results = compareGradients(gradients(rounding), want, 1e-4);
  for (const [name, result] of Object.entries(results)) assert.ok(result.passed, name);
  // a real error is still caught
  const wrong = compareGradients(gradients({ ...rounding, wQ: [0.5, 0, 0] }), want, 1e-4);
  assert.equal(wrong.wQ.passed, false);
});

Deno.test("compareGradients() compares a gradient that does not vanish relatively", () => {
  const want = gradients({ wQ: [1e-3, 2e-3, -1e-3] });
  assert.equal(
    compareGradients(gradients({ wQ: [1e-3, 2e-3, -1e-3] }), want, 1e-4).wQ.passed,
    true,
  );
  // 10 % off a small but real gradient fails although it is tiny next to dW_v
  const off = compareGradients(gradients({ wQ: [1.1e-3, 2e-3, -1e-3] }), want, 1e-4);
  assert.equal(off.wQ.passed, false);
});
