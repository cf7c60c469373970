/**
 * A one-off dispatch that keeps a lavapipe artefact out of the softmax kernel's timings.
 *
 * @module
 */

import type { BufferTracker } from "./buffer_tracker.ts";
import { PARAMS_BYTES } from "./plan.ts";

const F32 = 4;

const _primedSoftmax = new WeakSet<GPUComputePipeline>();

/**
 * Run the softmax kernel once over 8 rows of 256 keys. Measured on lavapipe (Mesa 22.3): until the
 * softmax pipeline has once run rows longer than 128 keys, it takes ~1.5 µs per score on rows of
 * ≤ 128 keys (15-25 ms at n = 128, a hundred times its normal time), and is fast from then on for
 * every length. The cause is inside the driver; this one-off dispatch, outside any forward, keeps
 * the artefact out of the profile's short lengths.
 */
export async function primeSoftmax(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  tracker: BufferTracker,
): Promise<void> {
  if (_primedSoftmax.has(pipeline)) return;
  _primedSoftmax.add(pipeline);
  const keys = 256;
  const rows = 8;
  const params = tracker.create("activations", {
    label: "softmax priming: params",
    size: PARAMS_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const scores = tracker.create("scores", {
    label: "softmax priming: scores",
    size: rows * keys * F32,
    usage: GPUBufferUsage.STORAGE,
  });
  try {
    device.queue.writeBuffer(params, 0, new Uint32Array([keys, keys / 4, rows, 0, 0, 0, 0, 0]));
    const encoder = device.createCommandEncoder({ label: "softmax priming" });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer: scores } },
        ],
      }),
    );
    pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  } finally {
    tracker.destroy(params);
    tracker.destroy(scores);
  }
}
