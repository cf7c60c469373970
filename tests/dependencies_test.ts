/** The lockfile stays light: every npm package is one more download for a new user. */
import assert from "node:assert/strict";

Deno.test("deno.lock holds at most 100 npm packages", async () => {
  const lock = JSON.parse(await Deno.readTextFile(new URL("../deno.lock", import.meta.url)));
  const packages = Object.keys(lock.npm ?? {});
  assert.ok(packages.length <= 100, `deno.lock holds ${packages.length} npm packages`);
});
