/**
 * The WebGPU backend choice: the native APIs unless the user names backends. Each case runs in its
 * own process, since Deno reads DENO_WEBGPU_BACKEND once per process.
 */
import assert from "node:assert/strict";
import { NATIVE_WEBGPU_BACKENDS } from "../src/gpu/backends.ts";

const BACKENDS = new URL("../src/gpu/backends.ts", import.meta.url).href;

/** `selectWebGpuBackends()`'s return value and the variable after it, in a fresh process. */
async function selectInChild(userValue: string | undefined) {
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (userValue !== undefined) env.DENO_WEBGPU_BACKEND = userValue;
  const script = `import { selectWebGpuBackends } from ${JSON.stringify(BACKENDS)};
const returned = selectWebGpuBackends() ?? null;
console.log(JSON.stringify({ returned, variable: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null }));`;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    clearEnv: true,
    env: { ...env, PATH: Deno.env.get("PATH") ?? "" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("selectWebGpuBackends() asks for the native backends, never OpenGL, by default", async () => {
  assert.deepEqual(await selectInChild(undefined), {
    returned: null,
    variable: NATIVE_WEBGPU_BACKENDS,
  });
});

Deno.test("selectWebGpuBackends() keeps the backends the user named", async () => {
  assert.deepEqual(await selectInChild("gl"), { returned: "gl", variable: "gl" });
});
