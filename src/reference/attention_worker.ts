/**
 * Worker entry of the CPU path. It compiles the kernels once, then serves requests from
 * `CpuAttention`: `bind` instantiates the kernels on the shared memory, `forward` (and `backward`)
 * work through the phases' units with the other workers. Between forwards it holds nothing but the instance and views on the shared
 * memory, and the (plain-number) memory plan.
 *
 * @module
 */

import {
  AttentionWorker,
  compileKernelModule,
  instantiateKernels,
  warmUpKernels,
} from "./attention_kernels.ts";
import { BackwardWorker } from "./backward_kernels.ts";
import { compileBackwardSimdModule, instantiateBackwardSimd } from "./backward_simd.ts";
import type { WorkerReply, WorkerRequest } from "./worker_protocol.ts";

const kernelModule = compileKernelModule();
const backwardModule = compileBackwardSimdModule();
warmUpKernels(kernelModule);
let bound: AttentionWorker | undefined;
let boundBackward: BackwardWorker | undefined;

function reply(message: WorkerReply): void {
  self.postMessage(message);
}

function handle(request: WorkerRequest): void {
  if (request.kind === "bind") {
    // if instantiation fails, later runs fail instead of using the old memory
    bound = boundBackward = undefined;
    const kernels = instantiateKernels(kernelModule, request.memory);
    bound = new AttentionWorker(kernels, request.memory, request.layout, request.worker);
    if (request.backward) {
      const backwardKernels = {
        ...kernels,
        ...instantiateBackwardSimd(backwardModule, request.memory),
      };
      boundBackward = new BackwardWorker(
        backwardKernels,
        request.memory,
        request.backward,
        request.worker,
      );
    }
    return;
  }
  if (!bound) throw new Error(`"${request.kind}" before "bind"`);
  if (request.kind === "forward") bound.forward();
  else if (boundBackward) boundBackward.backward();
  else throw new Error(`"backward" on a memory bound without a backward plan`);
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  try {
    handle(event.data);
    reply({ kind: "done" });
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    reply({ kind: "error", message });
  }
};

reply({ kind: "ready" });
