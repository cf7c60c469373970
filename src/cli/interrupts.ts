/**
 * Interrupts of a command: Ctrl-C (SIGINT), SIGTERM and SIGHUP. A signal sent to a process group
 * reaches the command more than once: once from the group and once more from each wrapper that
 * forwards it (`deno task`, npx). Copies that arrive within {@link REPEAT_WINDOW_MS} of the first
 * are that same interrupt; only a later one asks to exit at once.
 *
 * When a signal arrived is read on a Worker (src/cli/interrupt_worker.ts): the main thread's event
 * loop stalls for seconds while a GPU wait or a figure rendering holds it, and signals that reach
 * it then are delivered together when it resumes, whenever they arrived.
 *
 * @module
 */

/** Exit code of a command stopped by an interrupt (128 + SIGINT), whatever the signal. */
export const EXIT_INTERRUPTED = 130;

/** Copies of a signal that arrive within this time of the first are the same interrupt. */
export const REPEAT_WINDOW_MS = 1000;

/** The signals that interrupt a command (Windows delivers only SIGINT and SIGBREAK). */
export const INTERRUPT_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** What one delivery of a signal is: the first interrupt, a copy of it, or a later interrupt. */
export type InterruptKind = "first" | "copy" | "again";

/**
 * Classifies deliveries by their arrival time.
 *
 * @example
 * ```ts
 * const filter = new RepeatFilter();
 * const kinds = [0, 5, 900, 2000].map((ms) => filter.classify(ms));
 * if (kinds.join() !== "first,copy,copy,again") throw new Error(kinds.join());
 * ```
 */
export class RepeatFilter {
  #firstMs: number | null = null;

  /** The kind of a delivery that arrived at `nowMs`. */
  classify(nowMs: number): InterruptKind {
    if (this.#firstMs === null) {
      this.#firstMs = nowMs;
      return "first";
    }
    return nowMs - this.#firstMs > REPEAT_WINDOW_MS ? "again" : "copy";
  }
}

/** What a command does on an interrupt. */
export interface InterruptHandlers {
  /** the first interrupt: stop cleanly (the signal is aborted before this is called) */
  first(signal: Deno.Signal): void;
  /** an interrupt over {@link REPEAT_WINDOW_MS} after the first: exit as soon as possible */
  again(signal: Deno.Signal): void;
}

/** A message of the interrupt worker. */
export type InterruptMessage = "ready" | { kind: "first" | "again"; signal: Deno.Signal };

/** Listens for interrupts from construction until {@link Interrupts.dispose}. */
export class Interrupts {
  readonly #controller = new AbortController();
  readonly #handlers: InterruptHandlers;
  readonly #worker: Worker;
  /** the main thread's own listeners, until the worker listens */
  #listeners: Map<Deno.Signal, () => void>;

  /** Start listening. */
  constructor(handlers: InterruptHandlers) {
    this.#handlers = handlers;
    const filter = new RepeatFilter();
    this.#listeners = new Map(INTERRUPT_SIGNALS.map((signal) => [signal, () => {
      const kind = filter.classify(performance.now());
      if (kind !== "copy") this.#handle(kind, signal);
    }]));
    for (const [signal, listener] of this.#listeners) Deno.addSignalListener(signal, listener);
    this.#worker = new Worker(new URL("./interrupt_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = ({ data }: MessageEvent<InterruptMessage>) => {
      if (data === "ready") this.#removeListeners();
      else this.#handle(data.kind, data.signal);
    };
  }

  /** Aborted by the first interrupt. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  #handle(kind: "first" | "again", signal: Deno.Signal): void {
    if (kind === "again") return this.#handlers.again(signal);
    // a copy the worker saw first while the main thread's listeners still ran
    if (this.#controller.signal.aborted) return;
    this.#controller.abort();
    this.#handlers.first(signal);
  }

  #removeListeners(): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners.clear();
  }

  /** Stop listening (the signals are then ignored, not restored to their default). */
  dispose(): void {
    this.#removeListeners();
    this.#worker.terminate();
  }
}
