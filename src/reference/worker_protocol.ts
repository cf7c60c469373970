/**
 * Messages between {@link CpuAttention} and its workers. Every request gets exactly one reply,
 * in order.
 *
 * @module
 */

import type { BackwardLayout } from "./backward_layout.ts";
import type { AttentionLayout } from "./memory_layout.ts";

/** Main thread → worker. */
export type WorkerRequest =
  /**
   * use this memory and plan from now on; `worker` picks the scratch in `layout.scratch`;
   * `backward`: the plan of the backward too (its forward's is `layout`)
   */
  | {
    kind: "bind";
    memory: WebAssembly.Memory;
    layout: AttentionLayout;
    backward?: BackwardLayout;
    worker: number;
  }
  /** one forward on the bound memory (the main thread zeroed its control region) */
  | { kind: "forward" }
  /** one backward on the bound memory, after a forward (the backward's control region zeroed) */
  | { kind: "backward" };

/** Worker → main thread: `ready` once after start-up, then one `done` or `error` per request. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "done" }
  | { kind: "error"; message: string };
