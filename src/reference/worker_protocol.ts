/**
 * Messages between {@link CpuAttention} and its workers. Every request gets exactly one reply,
 * in order.
 *
 * @module
 */

import type { Phase } from "./attention_kernels.ts";
import type { AttentionLayout } from "./memory_layout.ts";

/** Main thread → worker. */
export type WorkerRequest =
  /** use this memory and plan from now on; `worker` picks the scratch in `layout.scratch` */
  | { kind: "bind"; memory: WebAssembly.Memory; layout: AttentionLayout; worker: number }
  /** take units of this phase until none is left */
  | { kind: "run"; phase: Phase };

/** Worker → main thread: `ready` once after start-up, then one `done` or `error` per request. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "done" }
  | { kind: "error"; message: string };
