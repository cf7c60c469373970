/**
 * Messages between {@link CpuAttention} and its workers. Every request gets exactly one reply,
 * in order.
 *
 * @module
 */

import type { AttentionLayout } from "./memory_layout.ts";

/** Main thread → worker. */
export type WorkerRequest =
  /** use this memory and plan from now on; `worker` picks the scratch in `layout.scratch` */
  | { kind: "bind"; memory: WebAssembly.Memory; layout: AttentionLayout; worker: number }
  /** one forward on the bound memory (the main thread zeroed its control region) */
  | { kind: "forward" };

/** Worker → main thread: `ready` once after start-up, then one `done` or `error` per request. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "done" }
  | { kind: "error"; message: string };
