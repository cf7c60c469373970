/** `parseProfileArgs()`: the `--precision` flag (other flags are covered through the CLI). */

import assert from "node:assert/strict";
import { parseProfileArgs } from "../src/cli/profile_args.ts";
import { UsageError } from "../src/cli/usage_error.ts";

function configOf(args: string[]) {
  const parsed = parseProfileArgs(args);
  assert.ok(!parsed.help);
  return parsed.config;
}

Deno.test("parseProfileArgs() defaults --precision to f32 and keeps report order", () => {
  assert.deepEqual(configOf([]).precisions, ["f32"]);
  assert.deepEqual(configOf(["--precision", "f16,f32"]).precisions, ["f32", "f16"]);
  assert.deepEqual(configOf(["--precision", "f16"]).precisions, ["f16"]);
});

Deno.test("parseProfileArgs() refuses an unknown precision and f16 without the GPU", () => {
  assert.throws(() => parseProfileArgs(["--precision", "bf16"]), UsageError);
  assert.throws(() => parseProfileArgs(["--precision", "f32,f32"]), UsageError);
  assert.throws(
    () => parseProfileArgs(["--devices", "cpu", "--precision", "f16"]),
    /f16 applies to the GPU variants only/,
  );
  assert.deepEqual(configOf(["--devices", "cpu", "--precision", "f32"]).precisions, ["f32"]);
});
