/**
 * The WebGPU backend choice: the native APIs unless the user names backends, and GL where the
 * native ones find no adapter. Each case runs in its own process, since Deno reads
 * DENO_WEBGPU_BACKEND once per runtime.
 */
import assert from "node:assert/strict";
import { backendPhrase, backendsOn, NATIVE_WEBGPU_BACKENDS } from "../src/gpu/backends.ts";

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

/** `chooseWebGpuBackends(options)` in a fresh process, Vulkan hidden when `hideVulkan`. */
async function chooseInChild(
  userValue: string | undefined,
  options: { glFallback?: boolean },
  hideVulkan: boolean,
) {
  const env: Record<string, string> = { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" };
  for (const name of ["HOME", "XDG_RUNTIME_DIR", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  if (userValue !== undefined) env.DENO_WEBGPU_BACKEND = userValue;
  if (hideVulkan) env.VK_DRIVER_FILES = env.VK_ICD_FILENAMES = "/nonexistent.json";
  const script = `import { chooseWebGpuBackends } from ${JSON.stringify(BACKENDS)};
const choice = await chooseWebGpuBackends(${JSON.stringify(options)});
console.log(JSON.stringify({ ...choice, variable: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null }));`;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    clearEnv: true,
    env,
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("chooseWebGpuBackends() falls back to GL where the native backends find no adapter", async () => {
  assert.deepEqual(await chooseInChild(undefined, {}, true), {
    backends: "gl",
    source: "gl-fallback",
    variable: "gl",
  });
});

Deno.test("chooseWebGpuBackends() keeps the user's backends and, if asked, the native ones", async () => {
  assert.deepEqual(await chooseInChild("vulkan", {}, true), {
    backends: "vulkan",
    source: "user",
    variable: "vulkan",
  });
  assert.deepEqual(await chooseInChild(undefined, { glFallback: false }, true), {
    backends: NATIVE_WEBGPU_BACKENDS,
    source: "native",
    variable: NATIVE_WEBGPU_BACKENDS,
  });
});

Deno.test("backendsOn() keeps the backends of the OS; backendPhrase() says when GL is a fallback", () => {
  assert.equal(backendsOn(NATIVE_WEBGPU_BACKENDS, "linux"), "vulkan");
  assert.equal(backendsOn(NATIVE_WEBGPU_BACKENDS, "darwin"), "vulkan,metal");
  assert.equal(backendsOn(NATIVE_WEBGPU_BACKENDS, "windows"), "vulkan,dx12");
  assert.equal(backendsOn("GL", "linux"), "gl");
  assert.equal(backendsOn("something", "linux"), "something");
  assert.equal(backendPhrase({ backend: "vulkan", backendSource: "native" }), "vulkan");
  assert.equal(
    backendPhrase({ backend: "gl", backendSource: "gl-fallback" }),
    "gl (fallback: the native backends found no adapter)",
  );
  assert.equal(backendPhrase({}), null);
});
