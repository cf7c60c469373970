/**
 * Progress of a long profile. On a terminal: one updating line (series, n, run k of N, elapsed,
 * ETA). In a pipe or CI: a plain line per point, and between runs a plain "run k of N" line when
 * {@link PLAIN_PROGRESS_INTERVAL_MS} have passed since the last line, so a log never goes quiet
 * for long. Deno's timers stall while a GPU promise is pending, so progress is advanced by the
 * profile between runs, never by a timer.
 *
 * @module
 */

/** What the profile tells about its progress. */
export interface ProgressReporter {
  /** a point starts: `runs` timed runs after `warmup` untimed ones */
  beginPoint(series: string, seqLen: number, warmup: number, runs: number): void;
  /** untimed warm-up run `completed` of the current point has finished */
  warmupDone(completed: number): void;
  /** timed run `completed` of the current point has finished */
  runDone(completed: number): void;
  /** the current point has ended (ok, skipped or failed) with a short outcome */
  endPoint(outcome: string): void;
  /** a warning the user should see even in a pipe */
  warn(message: string): void;
}

/** A reporter that says nothing but warnings (`--quiet` keeps warnings on stderr). */
export class QuietProgress implements ProgressReporter {
  beginPoint(): void {}
  warmupDone(): void {}
  runDone(): void {}
  endPoint(): void {}
  warn(message: string): void {
    console.error(`warning: ${message}`);
  }
}

function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60
    ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
    : `${seconds}s`;
}

/** Without a terminal, the longest silence between progress lines (when runs allow it). */
export const PLAIN_PROGRESS_INTERVAL_MS = 30_000;

/** Where ConsoleProgress writes and what clock it reads (injectable for tests). */
export interface ConsoleProgressOptions {
  /** an updating line (a terminal) or plain lines; default: whether stderr is a terminal */
  interactive?: boolean;
  /** the clock, ms; default performance.now */
  nowMs?: () => number;
  /** the sink; default stderr */
  write?: (text: string) => void;
}

/**
 * Progress on stderr: an updating line on a terminal, plain lines otherwise.
 *
 * @example
 * ```ts
 * let nowMs = 0;
 * const lines: string[] = [];
 * const progress = new ConsoleProgress({
 *   interactive: false,
 *   nowMs: () => nowMs,
 *   write: (text) => lines.push(text),
 * });
 * progress.beginPoint("cpu", 10000, 3, 20);
 * nowMs = 31_000;
 * progress.runDone(1);
 * if (!lines[1]?.startsWith("cpu n=10000: run 1 of 20")) throw new Error(lines.join(""));
 * ```
 */
export class ConsoleProgress implements ProgressReporter {
  readonly #interactive: boolean;
  readonly #nowMs: () => number;
  readonly #sink: (text: string) => void;
  readonly #startMs: number;
  #label = "";
  #warmup = 0;
  #runs = 0;
  /** when the last run (or the point) ended: the last run's duration predicts the next ones */
  #lastMarkMs = 0;
  /** when the last plain line was written */
  #lastLineMs: number;

  /** Report on stderr (or `options.write`). */
  constructor(options: ConsoleProgressOptions = {}) {
    this.#interactive = options.interactive ?? Deno.stderr.isTerminal();
    this.#nowMs = options.nowMs ?? (() => performance.now());
    const encoder = new TextEncoder();
    this.#sink = options.write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    this.#startMs = this.#nowMs();
    this.#lastLineMs = this.#startMs;
  }

  #write(text: string): void {
    if (text.endsWith("\n")) this.#lastLineMs = this.#nowMs();
    this.#sink(text);
  }

  beginPoint(series: string, seqLen: number, warmup: number, runs: number): void {
    this.#label = `${series} n=${seqLen}`;
    this.#warmup = warmup;
    this.#runs = runs;
    this.#lastMarkMs = this.#nowMs();
    const text = `${this.#label}: ${warmup} warm-up + ${runs} runs`;
    if (this.#interactive) this.#write(`\r\x1b[2K${text} · elapsed ${this.#elapsed()}`);
    else this.#write(`${text}\n`);
  }

  warmupDone(completed: number): void {
    this.#lastMarkMs = this.#nowMs();
    // a GPU point runs one untimed forward even with no warm-up asked: its output is checked first
    const total = Math.max(completed, this.#warmup);
    this.#status(`warm-up ${completed} of ${total} · elapsed ${this.#elapsed()}`);
  }

  runDone(completed: number): void {
    const nowMs = this.#nowMs();
    const runMs = nowMs - this.#lastMarkMs;
    this.#lastMarkMs = nowMs;
    // the first run's interval includes the output's check after the warm-up: no estimate from it
    const eta = completed >= 2 ? ` · ETA ${formatSeconds(runMs * (this.#runs - completed))}` : "";
    this.#status(`run ${completed} of ${this.#runs} · elapsed ${this.#elapsed()}${eta}`);
  }

  /** The updating line on a terminal; otherwise a plain line when the last one is old. */
  #status(text: string): void {
    if (this.#interactive) this.#write(`\r\x1b[2K${this.#label}: ${text}`);
    else if (this.#nowMs() - this.#lastLineMs >= PLAIN_PROGRESS_INTERVAL_MS) {
      this.#write(`${this.#label}: ${text}\n`);
    }
  }

  endPoint(outcome: string): void {
    const text = `${this.#label}: ${outcome}`;
    this.#write(this.#interactive ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }

  warn(message: string): void {
    this.#write(`${this.#interactive ? "\r\x1b[2K" : ""}warning: ${message}\n`);
  }

  #elapsed(): string {
    return formatSeconds(this.#nowMs() - this.#startMs);
  }
}
