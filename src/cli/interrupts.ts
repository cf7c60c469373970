/**
 * Interrupts of a command: Ctrl-C (SIGINT), SIGTERM and SIGHUP. A signal sent to a process group
 * reaches the command more than once: once from the group and once more from each wrapper that
 * forwards it (`deno task`, npx). Repeats within {@link REPEAT_WINDOW_MS} of the first are that
 * same interrupt; only a later one asks to exit at once.
 *
 * @module
 */

/** Exit code of a command stopped by an interrupt (128 + SIGINT), whatever the signal. */
export const EXIT_INTERRUPTED = 130;

/** Repeats of a signal within this time of the first are copies of the same interrupt. */
export const REPEAT_WINDOW_MS = 1000;

/** The signals that interrupt a command (Windows delivers only SIGINT and SIGBREAK). */
export const INTERRUPT_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** What a command does on an interrupt. */
export interface InterruptHandlers {
  /** the first interrupt: stop cleanly (the signal is aborted before this is called) */
  first(signal: Deno.Signal): void;
  /** an interrupt over {@link REPEAT_WINDOW_MS} after the first: exit as soon as possible */
  again(signal: Deno.Signal): void;
}

/**
 * Listens for interrupts from construction until {@link Interrupts.dispose}.
 *
 * @example
 * ```ts
 * const seen: string[] = [];
 * let nowMs = 0;
 * const interrupts = new Interrupts({
 *   first: (signal) => seen.push(`first ${signal}`),
 *   again: (signal) => seen.push(`again ${signal}`),
 * }, () => nowMs, []);
 * interrupts.deliver("SIGINT");
 * nowMs = 5; // the copy a wrapper forwards
 * interrupts.deliver("SIGINT");
 * nowMs = 2000;
 * interrupts.deliver("SIGTERM");
 * interrupts.dispose();
 * if (seen.join(", ") !== "first SIGINT, again SIGTERM") throw new Error(seen.join(", "));
 * if (!interrupts.signal.aborted) throw new Error("not aborted");
 * ```
 */
export class Interrupts {
  readonly #controller = new AbortController();
  readonly #handlers: InterruptHandlers;
  readonly #nowMs: () => number;
  readonly #listeners: Map<Deno.Signal, () => void>;
  #firstMs: number | null = null;

  /**
   * Install the listeners of `signals` (default {@link INTERRUPT_SIGNALS}; `nowMs` is the clock,
   * injectable for tests).
   */
  constructor(
    handlers: InterruptHandlers,
    nowMs: () => number = () => performance.now(),
    signals: readonly Deno.Signal[] = INTERRUPT_SIGNALS,
  ) {
    this.#handlers = handlers;
    this.#nowMs = nowMs;
    this.#listeners = new Map(signals.map((signal) => [signal, () => this.deliver(signal)]));
    for (const [signal, listener] of this.#listeners) Deno.addSignalListener(signal, listener);
  }

  /** Aborted by the first interrupt. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Handle one delivery of `signal` (what the listeners call). */
  deliver(signal: Deno.Signal): void {
    const nowMs = this.#nowMs();
    if (this.#firstMs === null) {
      this.#firstMs = nowMs;
      this.#controller.abort();
      this.#handlers.first(signal);
    } else if (nowMs - this.#firstMs > REPEAT_WINDOW_MS) {
      this.#handlers.again(signal);
    }
  }

  /** Remove the listeners: the signals' default actions apply again. */
  dispose(): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners.clear();
  }
}
