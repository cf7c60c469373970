/**
 * The Worker that reads when each interrupt arrived (src/cli/interrupts.ts): its event loop is
 * idle, so a signal is seen at once even while the main thread is held by a GPU wait or a
 * rendering. It posts `"ready"` once it listens, then the first interrupt and any later one; copies
 * within a second of the first are dropped here.
 *
 * @module
 */

import { INTERRUPT_SIGNALS, type InterruptMessage, RepeatFilter } from "./interrupts.ts";

const filter = new RepeatFilter();
const post = (message: InterruptMessage) => self.postMessage(message);
for (const signal of INTERRUPT_SIGNALS) {
  Deno.addSignalListener(signal, () => {
    const kind = filter.classify(performance.now());
    if (kind !== "copy") post({ kind, signal });
  });
}
post("ready");
