/**
 * Cache a deliberately worse tuning for this adapter — the fused kernel's workgroup-tile layout,
 * 1.9–5.6× slower than the register layout on lavapipe (README) — so that a profile run with it
 * shows what `deno task compare` says about a real slowdown. Writes into the cache folder of
 * `$SELF_ATTENTION_PROFILER_CACHE_DIR`, which it insists on, so your own tuning is never touched:
 *
 *   SELF_ATTENTION_PROFILER_CACHE_DIR=/tmp/worse deno run -A bench/worse_tuning.ts
 *   SELF_ATTENTION_PROFILER_CACHE_DIR=/tmp/worse deno task profile --out slowed …
 *   deno task compare results slowed
 *
 * @module
 */

import { openGpu } from "../src/gpu/device.ts";
import { CANDIDATES, kernelSourceHash, saveTuning, TUNING_SHAPE } from "../src/gpu/tuning.ts";

if (!Deno.env.get("SELF_ATTENTION_PROFILER_CACHE_DIR")) {
  console.error("error: set SELF_ATTENTION_PROFILER_CACHE_DIR to a scratch folder first");
  Deno.exit(2);
}
const worse = CANDIDATES.flash_attention.find((p) => p.layout === "workgroup-tiles")!;
const gpu = await openGpu();
if (gpu === null) {
  console.error("error: no WebGPU adapter");
  Deno.exit(2);
}
try {
  const path = await saveTuning(gpu.adapter, {
    flash_attention: {
      kernel: "flash_attention",
      sourceHash: await kernelSourceHash("flash_attention"),
      parameters: worse,
      candidates: [],
      final: [],
      shape: TUNING_SHAPE,
      timing: "timestamp-query",
      tunedAt: new Date().toISOString(),
    },
  });
  console.log(`flash_attention → ${JSON.stringify(worse)} cached in ${path}`);
} finally {
  gpu.destroy();
}
