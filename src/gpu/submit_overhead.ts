/**
 * The fixed cost of one submission: an empty submit → onSubmittedWorkDone, timed by the wall clock.
 * A forward's wall time includes it once (a whole forward is one submission), so at small n it is
 * most of what the wall clock shows (~11 ms on lavapipe); the profile records it beside every GPU
 * point so a reader can see what the wall clock includes.
 *
 * @module
 */

/**
 * Wall-clock milliseconds of `count` empty submissions, one after another.
 *
 * @example
 * ```ts
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter?.requestDevice();
 * if (device) console.log(await measureSubmitOverheadMs(device, 3));
 * ```
 */
export async function measureSubmitOverheadMs(device: GPUDevice, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const startMs = performance.now();
    device.queue.submit([]);
    await device.queue.onSubmittedWorkDone();
    samples.push(performance.now() - startMs);
  }
  return samples;
}
